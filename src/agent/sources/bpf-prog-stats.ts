// SPDX-License-Identifier: Apache-2.0
/**
 * BPF run-time statistics of every program this process holds, read from
 * /proc/self/fdinfo (`prog_id`, `run_time_ns`, `run_cnt`; non-zero while
 * BPF stats are enabled). Used for probes that do not expose their programs.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProgramRunStats {
  runTimeNs: number;
  runCount: number;
}

function field(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The program id behind a program fd, or undefined. */
export function programIdOfFd(fd: number): number | undefined {
  try {
    return field(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'), 'prog_id');
  } catch {
    return undefined;
  }
}

/** Every BPF program held by this process (program fds only, not links), by program id. */
export function readProgramStats(): Map<number, ProgramRunStats> {
  const out = new Map<number, ProgramRunStats>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fdinfo');
  } catch {
    return out;
  }
  for (const fd of fds) {
    let text: string;
    try {
      text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const runTime = field(text, 'run_time_ns');
    const id = field(text, 'prog_id');
    if (runTime === undefined || id === undefined || out.has(id)) continue;
    out.set(id, { runTimeNs: runTime, runCount: field(text, 'run_cnt') ?? 0 });
  }
  return out;
}
