// SPDX-License-Identifier: Apache-2.0
/** Errors raised by the OTLP codec. */
import { MaxproError, type MaxproErrorOptions } from '../errors.js';

/** Why a body could not be decoded; also the rejection-counter label. */
export type OtlpDecodeReason = 'malformed' | 'nesting_too_deep' | 'invalid_integer';

/** An OTLP request body could not be decoded. The message says what and where. */
export class OtlpDecodeError extends MaxproError {
  override readonly name = 'OtlpDecodeError';
  readonly reason: OtlpDecodeReason;
  constructor(message: string, reason: OtlpDecodeReason, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_COLLECTOR_OTLP_DECODE', message, options);
    this.reason = reason;
  }
}
