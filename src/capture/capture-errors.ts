// SPDX-License-Identifier: Apache-2.0
/** Errors of capture files (`maxpro record`, `maxpro replay`). */
import { MaxproError, type MaxproErrorOptions } from '../lib/errors.js';

/** A file is not a capture, has a version this build does not read, or cannot be read or written. */
export class CaptureError extends MaxproError {
  override readonly name = 'CaptureError';
  /** The capture file. */
  readonly file: string;
  constructor(file: string, message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_CAPTURE_FILE', `${file}: ${message}`, options);
    this.file = file;
  }
}
