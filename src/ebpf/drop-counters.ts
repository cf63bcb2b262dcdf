// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a probe's in-kernel loss counters (the `drops` per-CPU array of
 * maxpro/output.bpf.h) and helper-error counters (`errmetrics`).
 */
import type { BpfObject } from './bpf-object.js';

/** Index names of enum maxpro_drop_reason (bpf/include/maxpro/event.h). */
export const MAP_DROP_REASONS = ['ringbuf_full', 'output_failed', 'helper_failed', 'map_full'] as const;
/**
 * Every reason: the `drops` map's, and `bpf_recursion`: runs the kernel
 * skipped because the same program was already running on that CPU (a
 * softirq interrupted it and hit the same hook; prog info
 * `recursion_misses`). A skipped run is a lost event or aggregate update.
 */
export const DROP_REASONS = [...MAP_DROP_REASONS, 'bpf_recursion'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Lost events by reason, summed over CPUs. Missing map: those reasons zero. */
export function readDropCounts(obj: BpfObject): Record<DropReason, bigint> {
  const out = Object.fromEntries(DROP_REASONS.map((r) => [r, 0n])) as Record<DropReason, bigint>;
  for (const p of obj.programs.values()) {
    try {
      out.bpf_recursion += p.stats().recursionMisses;
    } catch { /* a program left unloaded (autoload off) has no info */ }
  }
  const map = obj.maps.get('drops');
  if (!map) return out;
  const key = new Uint8Array(4);
  const kv = new DataView(key.buffer);
  MAP_DROP_REASONS.forEach((reason, i) => {
    kv.setUint32(0, i, true);
    out[reason] = map.sumU64(key);
  });
  return out;
}

/** Total of every drop reason. */
export function totalDrops(obj: BpfObject): bigint {
  return Object.values(readDropCounts(obj)).reduce((a, b) => a + b, 0n);
}

export interface BpfErrorCount {
  errno: number;
  line: number;
  count: bigint;
}

/** Helper failures by (errno, source line). */
export function readErrorCounts(obj: BpfObject): BpfErrorCount[] {
  const map = obj.maps.get('errmetrics');
  if (!map) return [];
  const out: BpfErrorCount[] = [];
  for (const key of map.keys()) {
    const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
    out.push({ errno: -dv.getInt32(0, true), line: dv.getUint32(4, true), count: map.sumU64(key) });
  }
  return out;
}
