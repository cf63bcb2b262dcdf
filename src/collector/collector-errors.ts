// SPDX-License-Identifier: Apache-2.0
/** Errors of the span collector's storage and of its HTTP client. */
import { MaxproError, type MaxproErrorOptions } from '../lib/errors.js';

/** The span store failed to open, write or read. */
export class StorageError extends MaxproError {
  override readonly name = 'StorageError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_COLLECTOR_STORAGE', message, options);
  }
}

/** A request to the collector's query API failed; carries the HTTP status. */
export class CollectorRequestError extends MaxproError {
  override readonly name = 'CollectorRequestError';
  /** HTTP status, or 0 when no answer came back. */
  readonly status: number;
  constructor(status: number, message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_COLLECTOR_REQUEST', message, options);
    this.status = status;
  }
}
