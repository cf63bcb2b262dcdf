// SPDX-License-Identifier: Apache-2.0
/**
 * The JSON form of TCP aggregates, as the agent serves them on
 * `GET /tcp/aggregates` and `maxpro top tcp` reads them: one object per
 * (cgroup, direction, port class) with its workload, its counters and its
 * three histograms. Lossless: histograms are sparse (bucket index -> count)
 * plus their exact sum and count, and the cgroup id is a decimal string (a
 * u64 does not fit a JSON number).
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { HIST_BUCKETS, createLogLinearHistogram } from '../../lib/histogram/index.js';
import type { LogLinearHistogram } from '../../lib/histogram/index.js';
import { TCP_AGG_COUNTERS } from './tcp-aggregates.js';
import type { TcpAggCounter, TcpAggregate } from './tcp-aggregates.js';
import type { WorkloadIdentity } from '../../lib/workload-identity.js';

/** The format version; a reader refuses any other. */
export const TCP_AGGREGATES_JSON_VERSION = 1;

/** A histogram: non-zero buckets by index, and the exact sum and count. */
export interface HistogramJson {
  buckets: Record<string, number>;
  sum: number;
  count: number;
}

/** One aggregate on the wire. */
export interface TcpAggregateJson {
  cgroupId: string;
  dir: 'client' | 'server';
  portClass: number;
  workload: WorkloadIdentity;
  counters: Record<TcpAggCounter, number>;
  handshake: HistogramJson;
  rtt: HistogramJson;
  lifetime: HistogramJson;
}

/** The body of `GET /tcp/aggregates`. */
export interface TcpAggregatesJson {
  version: number;
  /** When the agent read the map (ISO 8601). */
  time: string;
  /** Records the agent's TCP probe lost since it loaded (aggregates are counted in the kernel and lose nothing). */
  lost: number;
  /** True when the agent left aggregates out to bound the response. */
  truncated: boolean;
  aggregates: TcpAggregateJson[];
}

/** An aggregate and the workload the agent attributes it to. */
export interface TcpAggregateWithWorkload {
  aggregate: TcpAggregate;
  workload: WorkloadIdentity;
}

/** A decoded body. */
export interface TcpAggregatesSnapshot {
  time: string;
  lost: number;
  truncated: boolean;
  aggregates: TcpAggregateWithWorkload[];
}

const HISTS = ['handshake', 'rtt', 'lifetime'] as const;
const WORKLOAD_FIELDS = ['container', 'pod', 'namespace', 'cgroupPath'] as const;
const U64_MAX = (1n << 64n) - 1n;

/** The sparse form of a histogram. */
export function encodeHistogram(h: LogLinearHistogram): HistogramJson {
  const buckets: Record<string, number> = {};
  for (let i = 0; i < h.counts.length; i++) if (h.counts[i] !== 0) buckets[i] = h.counts[i]!;
  return { buckets, sum: h.sum, count: h.count };
}

/** One aggregate and its workload in wire form. */
export function encodeTcpAggregate(a: TcpAggregate, workload: WorkloadIdentity): TcpAggregateJson {
  return {
    cgroupId: a.cgroupId.toString(), dir: a.dir, portClass: a.portClass,
    workload: { container: workload.container, pod: workload.pod, namespace: workload.namespace, cgroupPath: workload.cgroupPath },
    counters: { ...a.counters },
    handshake: encodeHistogram(a.handshake), rtt: encodeHistogram(a.rtt), lifetime: encodeHistogram(a.lifetime),
  };
}

/** A whole body. */
export function encodeTcpAggregates(s: TcpAggregatesSnapshot): TcpAggregatesJson {
  return {
    version: TCP_AGGREGATES_JSON_VERSION, time: s.time, lost: s.lost, truncated: s.truncated,
    aggregates: s.aggregates.map((r) => encodeTcpAggregate(r.aggregate, r.workload)),
  };
}

function fail(where: string, what: string): never {
  throw new InvalidArgumentError(`tcp aggregates JSON: ${where}: ${what}`);
}

function show(v: unknown): string {
  if (v === undefined) return 'missing';
  const t = JSON.stringify(v) ?? String(v);
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, `${show(v)} is not an object`);
  return v as Record<string, unknown>;
}

/** A count: an integer >= 0 (beyond 2^53 as the reader summed it, so any integral double). */
function count(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(where, `${show(v)} is not an integer count >= 0`);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(where, `${show(v)} is not a string`);
  return v;
}

/** Reads a sparse histogram; bucket counts must add up to `count`. */
export function decodeHistogram(v: unknown, where: string): LogLinearHistogram {
  const o = object(v, where);
  const h = createLogLinearHistogram();
  const buckets = object(o.buckets, `${where}.buckets`);
  let total = 0;
  for (const [k, c] of Object.entries(buckets)) {
    const i = Number(k);
    if (!/^(0|[1-9]\d*)$/.test(k) || i >= HIST_BUCKETS) fail(`${where}.buckets`, `bucket index ${JSON.stringify(k)} is not in 0..${HIST_BUCKETS - 1}`);
    h.counts[i] = count(c, `${where}.buckets["${k}"]`);
    total += h.counts[i]!;
  }
  h.count = count(o.count, `${where}.count`);
  if (h.count !== total) fail(`${where}.count`, `${h.count} is not the sum of the bucket counts (${total})`);
  // Sums are of nanoseconds and may exceed 2^53 on a long-lived agent: any finite value >= 0.
  if (typeof o.sum !== 'number' || !Number.isFinite(o.sum) || o.sum < 0) fail(`${where}.sum`, `${show(o.sum)} is not a number >= 0`);
  h.sum = o.sum;
  return h;
}

/** Reads one aggregate; `where` names it in errors (e.g. `aggregates[3]`). */
export function decodeTcpAggregate(v: unknown, where: string): TcpAggregateWithWorkload {
  const o = object(v, where);
  const idText = str(o.cgroupId, `${where}.cgroupId`);
  if (!/^(0|[1-9]\d*)$/.test(idText) || BigInt(idText) > U64_MAX) fail(`${where}.cgroupId`, `${JSON.stringify(idText)} is not a decimal u64`);
  if (o.dir !== 'client' && o.dir !== 'server') fail(`${where}.dir`, `${show(o.dir)} is not "client" or "server"`);
  const portClass = count(o.portClass, `${where}.portClass`);
  const w = object(o.workload, `${where}.workload`);
  const workload = Object.fromEntries(WORKLOAD_FIELDS.map((f) => [f, str(w[f], `${where}.workload.${f}`)])) as unknown as WorkloadIdentity;
  const c = object(o.counters, `${where}.counters`);
  const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((n) => [n, count(c[n], `${where}.counters.${n}`)])) as Record<TcpAggCounter, number>;
  const [handshake, rtt, lifetime] = HISTS.map((h) => decodeHistogram(o[h], `${where}.${h}`)) as [LogLinearHistogram, LogLinearHistogram, LogLinearHistogram];
  return { aggregate: { cgroupId: BigInt(idText), dir: o.dir, portClass, counters, handshake, rtt, lifetime }, workload };
}

/**
 * Reads a `GET /tcp/aggregates` body (parsed JSON). May throw
 * `InvalidArgumentError` naming the first malformed field and where it is.
 */
export function decodeTcpAggregates(v: unknown): TcpAggregatesSnapshot {
  const o = object(v, 'body');
  if (o.version !== TCP_AGGREGATES_JSON_VERSION) fail('body.version', `${show(o.version)} is not ${TCP_AGGREGATES_JSON_VERSION}`);
  const time = str(o.time, 'body.time');
  const lost = count(o.lost, 'body.lost');
  if (typeof o.truncated !== 'boolean') fail('body.truncated', `${show(o.truncated)} is not a boolean`);
  if (!Array.isArray(o.aggregates)) fail('body.aggregates', `${show(o.aggregates)} is not an array`);
  return { time, lost, truncated: o.truncated, aggregates: o.aggregates.map((a, i) => decodeTcpAggregate(a, `body.aggregates[${i}]`)) };
}
