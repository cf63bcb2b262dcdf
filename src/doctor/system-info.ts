// SPDX-License-Identifier: Apache-2.0
/** Reads of /proc and /sys that the doctor and the agent share. */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

export { CAP, effectiveCaps } from '../ebpf/index.js';
export type { CapName } from '../ebpf/index.js';

/** Parses `6.18.44-fc` into [6, 18, 44]. */
export function parseKernelVersion(rel: string = release()): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

/** Compares kernel versions: negative, zero or positive. */
export function compareKernel(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Mount points by filesystem type, from /proc/mounts. */
export function mountsOfType(type: string, mountsText?: string): string[] {
  const text = mountsText ?? readFileSync('/proc/mounts', 'utf8');
  return text.split('\n').map((l) => l.split(' ')).filter((f) => f[2] === type).map((f) => f[1] ?? '');
}

/** The tracefs events directory, or undefined when tracefs is not mounted. */
export function tracefsDir(): string | undefined {
  for (const d of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (existsSync(`${d}/events`)) return d;
  }
  return undefined;
}

/** Reads a one-line /proc or /sys file; undefined when absent or unreadable. */
export function readSysFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The memlock limit in bytes (Infinity when unlimited). */
export function memlockLimit(limitsText?: string): number {
  const text = limitsText ?? readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max locked memory\s+(\S+)/m.exec(text);
  if (!m || m[1] === 'unlimited') return Infinity;
  return Number(m[1]);
}

/** The libc path mapped into this process (for uprobe checks). */
export function libcPath(): string | undefined {
  const maps = readFileSync('/proc/self/maps', 'utf8');
  return /\s(\/\S*\/libc\.so\.6)$/m.exec(maps)?.[1] ?? /\s(\/\S*\/libc[-.][^/\s]*\.so[^/\s]*)$/m.exec(maps)?.[1];
}
