// SPDX-License-Identifier: Apache-2.0
/**
 * Reads the TCP probe's in-kernel aggregates: the per-(cgroup, direction,
 * port class) histograms and counters (struct tcp_agg, summed over CPUs),
 * the machine-wide counters and the drop and reset counts by reason.
 */
import type { BpfMap } from '../../ebpf/index.js';
import { HIST_BUCKETS, createLogLinearHistogram } from '../../lib/histogram/index.js';
import type { LogLinearHistogram } from '../../lib/histogram/index.js';

/** enum tcp_agg_counter, by index. */
export const TCP_AGG_COUNTERS = [
  'opens', 'connectFailed', 'closes', 'closeErrors', 'resetsReceived', 'retransmits', 'synackRetransmits',
  'drops', 'synDrops', 'bytesAcked', 'bytesReceived', 'untrackedCloses', 'synRetransmits', 'listenOverflows',
] as const;
export type TcpAggCounter = (typeof TCP_AGG_COUNTERS)[number];
const AGG_COUNTER_SLOTS = 16;

/** enum tcp_global_counter, by index. */
export const TCP_GLOBAL_COUNTERS = [
  'stateChanges', 'retransmits', 'synackRetransmits', 'resetsSent', 'resetsSentNoSocket', 'resetsReceived',
  'drops', 'synDrops', 'untrackedCloses', 'eventsEmitted', 'aggregateFull', 'connTableFull', 'synRetransmits',
  'listenOverflows',
] as const;
export type TcpGlobalCounter = (typeof TCP_GLOBAL_COUNTERS)[number];

/** One aggregate: a (cgroup, direction, port class) key and its data. */
export interface TcpAggregate {
  cgroupId: bigint;
  dir: 'client' | 'server';
  portClass: number;
  counters: Record<TcpAggCounter, number>;
  /** Handshake latency (client: connect; server: SYN-ACK -> ACK), ns. */
  handshake: LogLinearHistogram;
  /** Smoothed RTT at close, ns. */
  rtt: LogLinearHistogram;
  /** Connection lifetime, ns. */
  lifetime: LogLinearHistogram;
}

/** Bytes of struct tcp_agg. */
export const TCP_AGG_BYTES = AGG_COUNTER_SLOTS * 8 + 3 * (HIST_BUCKETS + 1) * 8;

/** The key of an aggregate as bytes (struct tcp_agg_key). */
export function encodeAggKey(cgroupId: bigint, dir: 'client' | 'server', portClass: number): Uint8Array {
  const k = new Uint8Array(16);
  const v = new DataView(k.buffer);
  v.setBigUint64(0, cgroupId, true);
  v.setUint32(8, dir === 'server' ? 1 : 0, true);
  v.setUint32(12, portClass, true);
  return k;
}

function decodeValue(value: Uint8Array, slot: number): Omit<TcpAggregate, 'cgroupId' | 'dir' | 'portClass'> {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const cpus = value.byteLength / slot;
  const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((n) => [n, 0])) as Record<TcpAggCounter, number>;
  const hists = [createLogLinearHistogram(), createLogLinearHistogram(), createLogLinearHistogram()];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const base = cpu * slot;
    TCP_AGG_COUNTERS.forEach((n, i) => { counters[n] += Number(dv.getBigUint64(base + i * 8, true)); });
    for (let h = 0; h < 3; h++) {
      const hist = hists[h]!;
      const hb = base + AGG_COUNTER_SLOTS * 8 + h * (HIST_BUCKETS + 1) * 8;
      for (let b = 0; b < HIST_BUCKETS; b++) {
        const c = Number(dv.getBigUint64(hb + b * 8, true));
        if (c !== 0) {
          hist.counts[b]! += c;
          hist.count += c;
        }
      }
      hist.sum += Number(dv.getBigUint64(hb + HIST_BUCKETS * 8, true));
    }
  }
  return { counters, handshake: hists[0]!, rtt: hists[1]!, lifetime: hists[2]! };
}

/** Every aggregate in the `tcp_aggs` map, summed over CPUs. */
export function readTcpAggregates(map: BpfMap): TcpAggregate[] {
  const slot = (map.valueSize + 7) & ~7;
  const out: TcpAggregate[] = [];
  for (const [key, value] of map.entries()) {
    const kv = new DataView(key.buffer, key.byteOffset, key.byteLength);
    out.push({
      cgroupId: kv.getBigUint64(0, true),
      dir: kv.getUint32(8, true) === 1 ? 'server' : 'client',
      portClass: kv.getUint32(12, true),
      ...decodeValue(value, slot),
    });
  }
  return out;
}

/** Sums a per-CPU array of u64 counters laid out as one struct (tcp_global). */
export function readTcpGlobal(map: BpfMap): Record<TcpGlobalCounter, number> {
  const out = Object.fromEntries(TCP_GLOBAL_COUNTERS.map((n) => [n, 0])) as Record<TcpGlobalCounter, number>;
  const v = map.lookup(new Uint8Array(4));
  if (!v) return out;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const slot = (map.valueSize + 7) & ~7;
  for (let off = 0; off < v.byteLength; off += slot) {
    TCP_GLOBAL_COUNTERS.forEach((n, i) => { out[n] += Number(dv.getBigUint64(off + i * 8, true)); });
  }
  return out;
}

/** Non-zero drop counts by skb drop reason: reason -> { segments, syns }. */
export function readTcpDropReasons(map: BpfMap): Map<number, { segments: number; syns: number }> {
  const out = new Map<number, { segments: number; syns: number }>();
  const key = new Uint8Array(4);
  const kv = new DataView(key.buffer);
  const slot = (map.valueSize + 7) & ~7;
  for (let r = 0; r < map.maxEntries; r++) {
    kv.setUint32(0, r, true);
    const v = map.lookup(key);
    if (!v) continue;
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    let segments = 0, syns = 0;
    for (let off = 0; off < v.byteLength; off += slot) {
      segments += Number(dv.getBigUint64(off, true));
      syns += Number(dv.getBigUint64(off + 8, true));
    }
    if (segments > 0) out.set(r, { segments, syns });
  }
  return out;
}

/** Non-zero counts of a per-CPU u64 array by index (resets sent by reason). */
export function readPerCpuCounts(map: BpfMap): Map<number, number> {
  const out = new Map<number, number>();
  const key = new Uint8Array(4);
  const kv = new DataView(key.buffer);
  for (let i = 0; i < map.maxEntries; i++) {
    kv.setUint32(0, i, true);
    const n = Number(map.sumU64(key));
    if (n > 0) out.set(i, n);
  }
  return out;
}
