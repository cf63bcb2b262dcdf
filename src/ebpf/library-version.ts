// SPDX-License-Identifier: Apache-2.0
import { native } from './native.js';

/** The linked libbpf version, e.g. `v1.1`. May throw `NativeMissingError`. */
export function libbpfVersion(): string {
  return native().libbpfVersion();
}
