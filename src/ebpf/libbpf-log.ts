// SPDX-License-Identifier: Apache-2.0
/** Forwards libbpf's log lines to a JS handler (libbpf's print hook is process-wide). */
import { native } from './native.js';

export type LibbpfLogLevel = 'warn' | 'info' | 'debug';

/** Sets (or clears, with null) the handler and the most verbose level forwarded. */
export function setLibbpfLogHandler(fn: ((level: LibbpfLogLevel, line: string) => void) | null, minLevel: LibbpfLogLevel = 'warn'): void {
  native().setLogHandler(fn, minLevel);
}
