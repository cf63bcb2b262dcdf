// SPDX-License-Identifier: Apache-2.0
/** BPF run statistics of a probe's own programs, for the common probe stats shape. */
import type { BpfObject } from '../ebpf/index.js';

/** One program's run time and count (non-zero only while BPF stats are enabled). */
export interface ProgramRunStat {
  program: string;
  runTimeNs: number;
  runCount: number;
}

/** The run statistics of every loaded program of an object. */
export function programRunStats(obj: Pick<BpfObject, 'programs'>): ProgramRunStat[] {
  const out: ProgramRunStat[] = [];
  for (const p of obj.programs.values()) {
    const s = p.stats();
    out.push({ program: p.name, runTimeNs: Number(s.runTimeNs), runCount: Number(s.runCount) });
  }
  return out;
}
