// SPDX-License-Identifier: Apache-2.0
/** errno numbers to names, from Node's own table, plus kernel-internal ones (shared by src/ebpf and enrichment). */
import { constants } from 'node:os';

const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!NAMES.has(value)) NAMES.set(value, name);
}
// Kernel-internal codes that leak out of bpf(2) and are absent from libc.
NAMES.set(524, 'ENOTSUPP');

/** Symbolic name of a positive errno, e.g. `EPERM`; `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** errno value by name, e.g. `errno('EPERM') === 1`. */
export function errno(name: keyof typeof constants.errno): number {
  return constants.errno[name];
}
