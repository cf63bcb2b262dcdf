// SPDX-License-Identifier: Apache-2.0
/**
 * Where tracefs is and whether this process may read it. `tp/<category>/<name>`
 * programs attach through a tracepoint id read from tracefs, which is
 * root-only (mode 0700) on most systems: a process with CAP_BPF and
 * CAP_PERFMON but another uid cannot use them, while tp_btf and raw_tp need
 * no tracefs at all.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The tracefs mount points libbpf looks in, in its order. */
export const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

export type TracefsState =
  | { state: 'readable'; dir: string }
  /** Mounted, but this process cannot read the tracepoint ids (EACCES/EPERM). */
  | { state: 'unreadable'; dir: string; file: string; errno: string }
  | { state: 'not-mounted' };

/**
 * Whether the id file of tracepoint `category/name` can be read, which is
 * what attaching a `tp/` program needs. Default: a tracepoint every kernel has.
 */
export function tracefsState(category = 'sched', name = 'sched_process_exec', dirs: readonly string[] = TRACEFS_DIRS): TracefsState {
  let mounts: string | undefined;
  for (const dir of dirs) {
    const file = `${dir}/events/${category}/${name}/id`;
    try {
      readFileSync(file);
      return { state: 'readable', dir };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'EACCES' || code === 'EPERM') return { state: 'unreadable', dir, file, errno: code };
      mounts ??= readMounts();
      // Mounted, but this tracepoint is missing: attaching it will say so.
      if (existsSync(`${dir}/events`) || mounts.includes(` ${dir} tracefs `)) return { state: 'readable', dir };
    }
  }
  return { state: 'not-mounted' };
}

function readMounts(): string {
  try {
    return readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}
