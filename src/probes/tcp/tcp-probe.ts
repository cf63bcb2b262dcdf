// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP probe: loads bpf/probes/tcp, attaches its tp_btf programs, drains
 * its records, and reads its in-kernel aggregates. Per-connection records
 * arrive only as the live policy asks (thresholds, failed connects,
 * retransmitting connections, or the full stream).
 */
import {
  bpfObjectPath, createRingBufferReader, forEachRecord, openObjectFile, readDropCounts, readErrorCounts,
} from '../../ebpf/index.js';
import type { BpfErrorCount, BpfObject, DropReason, RingBufferReader, RingBufferReaderStats } from '../../ebpf/index.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { createCgroupFilter } from '../cgroup-filter.js';
import type { CgroupFilter } from '../cgroup-filter.js';
import { decodeTcpEvent } from './tcp-event.js';
import type { TcpEvent } from './tcp-event.js';
import {
  readPerCpuCounts, readTcpAggregates, readTcpDropReasons, readTcpGlobal,
} from './tcp-aggregates.js';
import type { TcpAggregate, TcpGlobalCounter } from './tcp-aggregates.js';
import { buildPortClassTable } from './port-classes.js';
import type { PortClass } from './port-classes.js';
import { dropReasonNames, resetReasonNames } from './kernel-reasons.js';

/** Which per-connection records the kernel sends. Thresholds of 0 (default) are off. */
export interface TcpPolicy {
  /** Record connects/accepts slower than this (ms), at open and at close. */
  minHandshakeMs?: number;
  /** Record closes of connections whose smoothed RTT is at least this (ms). */
  minSrttMs?: number;
  /** Record closes of connections that lived at least this long (ms). */
  minLifetimeMs?: number;
  /** Record failed connects. Default true. */
  failedConnects?: boolean;
  /** Record closes of connections that retransmitted. Default false. */
  retransmits?: boolean;
  /** Record every connect, accept, close, retransmit, reset and drop. Default false. */
  stream?: boolean;
}

export interface TcpProbeOptions {
  /** Receives each decoded record, synchronously in the drain. */
  onEvent?(event: TcpEvent): void;
  policy?: TcpPolicy;
  /** Service port classes for the aggregate key. Default DEFAULT_PORT_CLASSES. */
  portClasses?: readonly PortClass[];
  /** Connection table slots, a power of two; sockets tracked at once stay well below it (each lives in one of 4 slots after its hash). Default 32768. */
  maxConnections?: number;
  /** (cgroup, direction, port class) aggregates. Default 1024. */
  maxAggregates?: number;
  /** Ring buffer bytes, a power of two. Default 1 MiB. */
  ringBytes?: number;
  /** Drain period, ms. Default 50. */
  intervalMs?: number;
  /** The compiled object. Default bpf/.output/tcp.bpf.o. */
  objectPath?: string;
  /**
   * Called with the object loaded and set up, just before its programs
   * attach (e.g. to detach a previous instance's pinned programs first and
   * carry its counts). What it throws fails the load.
   */
  beforeAttach?(object: BpfObject): void;
}

export interface TcpProbeStats {
  /** Records decoded and delivered. */
  records: number;
  /** Records of an unknown kind or too short. */
  undecodable: number;
  /** Records lost in the kernel, by reason (ring full, map full, ...). */
  kernelDrops: Record<DropReason, bigint>;
  /** Records lost in user space (reader queue full or oversize). */
  readerDrops: number;
  reader: RingBufferReaderStats;
  /** onEvent threw. */
  handlerErrors: number;
}

/** Every record lost, in the kernel and in user space. */
export function tcpProbeLost(s: TcpProbeStats): number {
  return Object.values(s.kernelDrops).reduce((a, b) => a + Number(b), 0) + s.readerDrops;
}

export interface TcpReasonCount {
  reason: number;
  name: string;
  count: number;
}

export interface TcpProbe {
  readonly object: BpfObject;
  /** The kernel cgroup allow/deny list for per-connection records (aggregates count every cgroup). */
  readonly cgroupFilter: CgroupFilter;
  /** Class id -> name of the port classes in the aggregate keys. */
  readonly portClassNames: readonly string[];
  /** Every aggregate, summed over CPUs (cumulative since load). */
  aggregates(): TcpAggregate[];
  /** Machine-wide counters. */
  globals(): Record<TcpGlobalCounter, number>;
  /** TCP segments dropped, by skb drop reason. */
  dropReasons(): (TcpReasonCount & { syns: number })[];
  /** Resets sent, by sk_rst_reason. */
  resetReasons(): TcpReasonCount[];
  /** Replaces the policy live (one map update). */
  setPolicy(policy: TcpPolicy): void;
  /** Drains the ring now. */
  flush(): void;
  /** BPF run time of every program, ns (non-zero only while BPF stats are on). */
  bpfRunTimeNs(): bigint;
  /** Helper failures inside BPF, by errno and line. */
  bpfErrors(): BpfErrorCount[];
  stats(): TcpProbeStats;
  /** Detaches, drains, frees. Idempotent. `stats()` keeps answering afterwards. */
  close(): Promise<void>;
}

const PROGRAMS = [
  'tcp__inet_sock_set_state', 'tcp__retransmit_skb', 'tcp__retransmit_synack',
  'tcp__send_reset', 'tcp__receive_reset', 'tcp__kfree_skb',
] as const;
/**
 * Attached only while streaming: a received RST that ends a connection is
 * already counted per workload from the close (sk_err), and this program
 * would add a run to every RST-closed connection.
 */
const STREAM_ONLY = 'tcp__receive_reset';
/** The program attached only while the policy streams (its link comes and goes with `setPolicy`). */
export const TCP_STREAM_ONLY_PROGRAM = STREAM_ONLY;

const POLICY_STREAM = 1, POLICY_FAILED = 2, POLICY_RETRANS = 4;

function checkNonNegative(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new InvalidArgumentError(`tcp policy: ${name} ${v} must be a number >= 0`);
}

/** struct tcp_policy as bytes. May throw `InvalidArgumentError`. */
export function encodeTcpPolicy(p: TcpPolicy): Uint8Array {
  checkNonNegative('minHandshakeMs', p.minHandshakeMs);
  checkNonNegative('minSrttMs', p.minSrttMs);
  checkNonNegative('minLifetimeMs', p.minLifetimeMs);
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  const ns = (ms: number | undefined): bigint => BigInt(Math.round((ms ?? 0) * 1e6));
  v.setBigUint64(0, ns(p.minHandshakeMs), true);
  v.setBigUint64(8, ns(p.minSrttMs), true);
  v.setBigUint64(16, ns(p.minLifetimeMs), true);
  v.setUint32(24, (p.stream ? POLICY_STREAM : 0) | (p.failedConnects ?? true ? POLICY_FAILED : 0) | (p.retransmits ? POLICY_RETRANS : 0), true);
  return b;
}

function checkPositiveInt(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new InvalidArgumentError(`createTcpProbe: ${name} ${v} not in 1..${max}`);
}

/**
 * Loads and attaches the probe. May throw `NotFoundError` (object not
 * built), `VerifierError`, `PermissionError`, `AttachError` or
 * `InvalidArgumentError`.
 */
export function createTcpProbe(options: TcpProbeOptions = {}): TcpProbe {
  const maxConnections = options.maxConnections ?? 32768;
  const maxAggregates = options.maxAggregates ?? 1024;
  const ringBytes = options.ringBytes ?? 1 << 20;
  checkPositiveInt('maxConnections', maxConnections, 1 << 24);
  if ((maxConnections & (maxConnections - 1)) !== 0) {
    throw new InvalidArgumentError(`createTcpProbe: maxConnections ${maxConnections} must be a power of two (the connection table is indexed by a mask)`);
  }
  checkPositiveInt('maxAggregates', maxAggregates, 1 << 20);
  if (!Number.isInteger(ringBytes) || ringBytes < 4096 || (ringBytes & (ringBytes - 1)) !== 0) {
    throw new InvalidArgumentError(`createTcpProbe: ringBytes ${ringBytes} must be a power of two >= 4096`);
  }
  const classes = buildPortClassTable(options.portClasses);
  const policyBytes = encodeTcpPolicy(options.policy ?? {});

  const spec = openObjectFile(options.objectPath ?? bpfObjectPath('tcp'), 'tcp');
  let obj: BpfObject;
  try {
    spec.setMaxEntries('tcp_conns', maxConnections);
    spec.setConstant('tcp_conn_mask', maxConnections - 1);
    spec.setMaxEntries('tcp_aggs', maxAggregates);
    spec.setMaxEntries('events', ringBytes);
    // Wake the reader early only when the ring is half full; otherwise it drains on its timer.
    spec.setConstant('maxpro_wakeup_bytes', ringBytes / 2);
    obj = spec.load();
  } catch (err) {
    spec.close();
    throw err;
  }

  let reader: RingBufferReader | undefined;
  let records = 0, undecodable = 0, handlerErrors = 0;
  try {
    const zero = new Uint8Array(4);
    obj.map('tcp_policy').update(zero, policyBytes);
    const pc = obj.map('tcp_port_class');
    const key = new Uint8Array(4);
    const kv = new DataView(key.buffer);
    const val = new Uint8Array(1);
    for (let port = 0; port < 65536; port++) {
      const c = classes.table[port]!;
      if (c === 0) continue; // arrays start zeroed
      kv.setUint32(0, port, true);
      val[0] = c;
      pc.update(key, val);
    }
    const onEvent = options.onEvent;
    reader = createRingBufferReader({
      map: obj.map('events'),
      intervalMs: options.intervalMs ?? 50,
      onBatch: (batch) => {
        forEachRecord(batch, (view, off, len) => {
          const ev = len >= 80 ? decodeTcpEvent(view, off, batch.bytes) : undefined;
          if (!ev) {
            undecodable++;
            return;
          }
          records++;
          if (!onEvent) return;
          try {
            onEvent(ev);
          } catch {
            handlerErrors++;
          }
        });
      },
    });
    options.beforeAttach?.(obj);
    for (const p of PROGRAMS) if (p !== STREAM_ONLY || options.policy?.stream) obj.program(p).attachTrace();
  } catch (err) {
    void reader?.close();
    obj.close();
    throw err;
  }

  const drops = dropReasonNames();
  const rsts = resetReasonNames();
  let closed = false;
  let finalStats: TcpProbeStats | undefined;
  const r = reader;
  const cgroupFilter = createCgroupFilter({ object: obj });
  return {
    object: obj,
    cgroupFilter,
    portClassNames: classes.names,
    aggregates: () => readTcpAggregates(obj.map('tcp_aggs')),
    globals: () => readTcpGlobal(obj.map('tcp_global')),
    dropReasons: () => [...readTcpDropReasons(obj.map('tcp_drop_reasons'))].map(([reason, c]) => ({ reason, name: drops.name(reason), count: c.segments, syns: c.syns })),
    resetReasons: () => [...readPerCpuCounts(obj.map('tcp_rst_reasons'))].map(([reason, count]) => ({ reason, name: rsts.name(reason), count })),
    setPolicy: (p) => {
      const bytes = encodeTcpPolicy(p);
      const streamLink = obj.links.find((l) => l.program === STREAM_ONLY);
      if (p.stream && !streamLink) obj.program(STREAM_ONLY).attachTrace();
      obj.map('tcp_policy').update(new Uint8Array(4), bytes);
      if (!p.stream && streamLink) streamLink.destroy();
    },
    flush: () => r.flush(),
    bpfRunTimeNs: () => PROGRAMS.reduce((sum, p) => sum + obj.program(p).stats().runTimeNs, 0n),
    bpfErrors: () => readErrorCounts(obj),
    stats: () => {
      if (finalStats) return { ...finalStats, records, undecodable, handlerErrors };
      const rs = r.stats();
      return {
        records, undecodable, handlerErrors,
        kernelDrops: readDropCounts(obj),
        readerDrops: rs.queueDrops + rs.oversizeDrops,
        reader: rs,
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const l of obj.links) l.destroy();
      await r.close();
      const rs = r.stats();
      finalStats = {
        records, undecodable, handlerErrors, kernelDrops: readDropCounts(obj), readerDrops: rs.queueDrops + rs.oversizeDrops, reader: rs,
      };
      obj.close();
    },
  };
}
