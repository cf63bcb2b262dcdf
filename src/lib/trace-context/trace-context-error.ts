// SPDX-License-Identifier: Apache-2.0
/** The error the trace-context parsers throw from their `*OrThrow` forms. */
import { MaxproError, type MaxproErrorOptions } from '../errors.js';

/** A `traceparent`, `tracestate` or `baggage` header broke the W3C rules. */
export class TraceContextError extends MaxproError {
  override readonly name = 'TraceContextError';
  /** The header at fault. */
  readonly header: 'traceparent' | 'tracestate' | 'baggage';
  constructor(header: 'traceparent' | 'tracestate' | 'baggage', message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_TRACECONTEXT_INVALID', `${header}: ${message}`, options);
    this.header = header;
  }
}
