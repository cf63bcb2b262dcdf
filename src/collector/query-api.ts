// SPDX-License-Identifier: Apache-2.0
/**
 * The collector's JSON query API. Routes (all GET, same authentication as
 * ingest):
 *
 * - `/api/traces/<traceId>`: the trace as a span tree.
 * - `/api/spans?service=&operation=&start=&end=&minDuration=&maxDuration=&status=&attr=key=value&limit=&pageToken=`
 * - `/api/spans/export?after=&limit=`: spans in arrival order after a cursor
 *   (`maxpro record` follows the store with it; `limit=0` gives the newest cursor).
 * - `/api/services`, `/api/operations?service=`
 * - `/api/red?service=&operation=&start=&end=&step=`
 * - `/api/dependencies?start=&end=`
 * - `/api/logs?service=&limit=`, `/api/metrics?service=&limit=`
 * - `/api/stats`, and `/metrics` in the Prometheus text format.
 *
 * Times are Unix nanoseconds, RFC 3339, or a duration meaning "that long
 * ago" (`15m`, `2h`). Durations are nanoseconds or `250ms`, `1.5s`, ...
 */
import { parseRequestTarget } from '../lib/http/request-target.js';
import { InvalidArgumentError, MaxproError } from '../lib/errors.js';
import type { RecordQuery, SpanQuery, SpanStore } from './span-store.js';
import { buildTraceTree } from './trace-tree.js';

/** An HTTP answer of the query API. */
export interface QueryResponse {
  status: number;
  contentType: string;
  body: string;
}

/** The collector counters the query API exposes. */
export interface QueryStats {
  accepted: Record<string, number>;
  rejected: Record<string, number>;
  queuedSpans: number;
  inflightRequests: number;
}

const UNITS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n, d: 86_400_000_000_000n };

/** Parses `250ms`, `1.5s`, `2h` or plain nanoseconds into nanoseconds. */
export function parseDurationNs(s: string, what = 'duration'): bigint {
  if (/^\d+$/.test(s)) return BigInt(s);
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)$/.exec(s.trim());
  if (!m) throw new InvalidArgumentError(`${what} '${s.slice(0, 40)}' is not a duration like 250ms, 1.5s, 2h or nanoseconds`);
  const [int, frac = ''] = m[1]!.split('.');
  const unit = UNITS[m[2]!]!;
  const scale = 10n ** BigInt(frac.length);
  return (BigInt(int!) * scale + BigInt(frac || '0')) * unit / scale;
}

/** Parses Unix ns, RFC 3339, or a duration ago into Unix ns. */
export function parseTimeNs(s: string, what = 'time', nowMs = Date.now()): bigint {
  if (/^\d{13,}$/.test(s)) return BigInt(s);
  if (/^\d+(?:\.\d+)?(ns|us|µs|ms|s|m|h|d)$/.test(s)) return BigInt(nowMs) * 1_000_000n - parseDurationNs(s, what);
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`${what} '${s.slice(0, 40)}' is not Unix ns, RFC 3339, or a duration ago like 15m`);
  return BigInt(ms) * 1_000_000n;
}

const STATUS: Record<string, number> = { unset: 0, ok: 1, error: 2, '0': 0, '1': 1, '2': 2 };

function json(status: number, value: unknown): QueryResponse {
  return { status, contentType: 'application/json', body: JSON.stringify(value) };
}

function int(s: string | null, what: string): number | undefined {
  if (s === null) return undefined;
  if (!/^\d+$/.test(s)) throw new InvalidArgumentError(`${what} '${s.slice(0, 20)}' must be a non-negative integer`);
  return Number(s);
}

/** Answers one query API request. Never throws: errors become 4xx/5xx JSON bodies. */
export async function handleQuery(store: SpanStore, rawUrl: string, stats: () => QueryStats): Promise<QueryResponse> {
  try {
    const url = parseRequestTarget(rawUrl);
    if (!url) return json(400, { error: { status: 400, reason: 'invalid_argument', message: 'request target is not a path' } });
    const p = url.searchParams;
    const path = url.pathname;
    const traceMatch = /^\/api\/traces\/([^/]+)$/.exec(path);
    if (traceMatch) {
      const id = decodeURIComponent(traceMatch[1]!).toLowerCase();
      const spans = await store.getTrace(id);
      if (spans.length === 0) return json(404, { error: { status: 404, reason: 'not_found', message: `trace ${id} not found` } });
      return json(200, buildTraceTree(id, spans));
    }
    switch (path) {
      case '/api/spans': {
        const q: SpanQuery = {};
        if (p.get('service')) q.service = p.get('service')!;
        if (p.get('operation')) q.operation = p.get('operation')!;
        if (p.get('start')) q.startNs = parseTimeNs(p.get('start')!, 'start');
        if (p.get('end')) q.endNs = parseTimeNs(p.get('end')!, 'end');
        if (p.get('minDuration')) q.minDurationNs = parseDurationNs(p.get('minDuration')!, 'minDuration');
        if (p.get('maxDuration')) q.maxDurationNs = parseDurationNs(p.get('maxDuration')!, 'maxDuration');
        const status = p.get('status');
        if (status !== null) {
          const code = STATUS[status.toLowerCase()];
          if (code === undefined) throw new InvalidArgumentError(`status '${status.slice(0, 20)}' must be unset, ok or error`);
          q.statusCode = code;
        }
        const attrs: Record<string, string> = {};
        for (const a of p.getAll('attr')) {
          const eq = a.indexOf('=');
          if (eq <= 0) throw new InvalidArgumentError(`attr '${a.slice(0, 60)}' must be key=value`);
          attrs[a.slice(0, eq)] = a.slice(eq + 1);
        }
        if (Object.keys(attrs).length > 16) throw new InvalidArgumentError('at most 16 attr filters');
        if (Object.keys(attrs).length) q.attributes = attrs;
        const limit = int(p.get('limit'), 'limit');
        if (limit !== undefined) q.limit = limit;
        if (p.get('pageToken')) q.pageToken = p.get('pageToken')!;
        return json(200, await store.searchSpans(q));
      }
      case '/api/spans/export': {
        const limit = int(p.get('limit'), 'limit') ?? 1000;
        return json(200, await store.exportSpans(p.get('after') ?? '0', limit));
      }
      case '/api/services':
        return json(200, { services: await store.listServices() });
      case '/api/operations':
        return json(200, { operations: await store.listOperations(p.get('service') ?? undefined) });
      case '/api/red': {
        const service = p.get('service');
        if (!service) throw new InvalidArgumentError('service is required');
        const endNs = p.get('end') ? parseTimeNs(p.get('end')!, 'end') : BigInt(Date.now()) * 1_000_000n;
        const startNs = p.get('start') ? parseTimeNs(p.get('start')!, 'start') : endNs - 3_600_000_000_000n;
        const stepNs = p.get('step') ? parseDurationNs(p.get('step')!, 'step') : (endNs - startNs) / 60n || 1n;
        const q = { service, startNs, endNs, stepNs, ...(p.get('operation') ? { operation: p.get('operation')! } : {}) };
        return json(200, await store.redMetrics(q));
      }
      case '/api/dependencies': {
        const endNs = p.get('end') ? parseTimeNs(p.get('end')!, 'end') : BigInt(Date.now()) * 1_000_000n;
        const startNs = p.get('start') ? parseTimeNs(p.get('start')!, 'start') : endNs - 3_600_000_000_000n;
        return json(200, { edges: await store.dependencies(startNs, endNs) });
      }
      case '/api/logs':
      case '/api/metrics': {
        const q: RecordQuery = {};
        if (p.get('service')) q.service = p.get('service')!;
        if (p.get('start')) q.startNs = parseTimeNs(p.get('start')!, 'start');
        if (p.get('end')) q.endNs = parseTimeNs(p.get('end')!, 'end');
        const limit = int(p.get('limit'), 'limit');
        if (limit !== undefined) q.limit = limit;
        if (p.get('pageToken')) q.pageToken = p.get('pageToken')!;
        return json(200, await store.listRecords(path === '/api/logs' ? 'logs' : 'metrics', q));
      }
      case '/api/stats':
        return json(200, { ...stats(), store: await store.stats() });
      case '/metrics':
        return { status: 200, contentType: 'text/plain; version=0.0.4', body: prometheus(stats()) };
      default:
        return json(404, { error: { status: 404, reason: 'not_found', message: `no endpoint ${path.slice(0, 80)}` } });
    }
  } catch (err) {
    // decodeURIComponent of a client's malformed %-escape: the client's error.
    if (err instanceof URIError) return json(400, { error: { status: 400, reason: 'invalid_argument', message: `malformed percent-encoding: ${err.message}` } });
    if (err instanceof InvalidArgumentError) return json(400, { error: { status: 400, reason: 'invalid_argument', message: err.message, code: err.code } });
    if (err instanceof MaxproError) return json(500, { error: { status: 500, reason: 'internal', message: err.message, code: err.code } });
    throw err;
  }
}

function prometheus(s: QueryStats): string {
  const lines = [
    '# HELP maxpro_collector_accepted_total Records accepted and stored, by signal.',
    '# TYPE maxpro_collector_accepted_total counter',
    ...Object.entries(s.accepted).map(([k, v]) => `maxpro_collector_accepted_total{signal="${k}"} ${v}`),
    '# HELP maxpro_collector_rejected_total Requests or records refused, by reason.',
    '# TYPE maxpro_collector_rejected_total counter',
    ...Object.entries(s.rejected).map(([k, v]) => `maxpro_collector_rejected_total{reason="${k}"} ${v}`),
    '# TYPE maxpro_collector_queued_spans gauge',
    `maxpro_collector_queued_spans ${s.queuedSpans}`,
    '# TYPE maxpro_collector_inflight_requests gauge',
    `maxpro_collector_inflight_requests ${s.inflightRequests}`,
  ];
  return `${lines.join('\n')}\n`;
}
