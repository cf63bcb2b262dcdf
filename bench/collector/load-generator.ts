// SPDX-License-Identifier: Apache-2.0
/**
 * Synthetic OTLP trace load: builds protobuf export requests with unique ids
 * and posts them, recording which spans the collector acknowledged.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { encodeExportRequest } from '../../src/lib/otlp/otlp-codec.js';

/** One pre-encoded request and the span ids it carries. */
export interface LoadRequest {
  body: Uint8Array;
  traceIds: string[];
  spanIds: string[];
}

/** Builds a request of `traces` traces with `spansPerTrace` spans each (a root and its children). */
export function buildTraceRequest(traces: number, spansPerTrace: number, service = 'bench-svc', nowNs = BigInt(Date.now()) * 1_000_000n): LoadRequest {
  const traceIds: string[] = [];
  const spanIds: string[] = [];
  const spans: Record<string, unknown>[] = [];
  for (let t = 0; t < traces; t++) {
    const traceId = randomBytes(16).toString('hex');
    traceIds.push(traceId);
    let rootId = '';
    for (let i = 0; i < spansPerTrace; i++) {
      const spanId = randomBytes(8).toString('hex');
      spanIds.push(spanId);
      if (i === 0) rootId = spanId;
      const start = nowNs + BigInt(i * 1000);
      spans.push({
        traceId,
        spanId,
        ...(i > 0 ? { parentSpanId: rootId } : {}),
        name: i === 0 ? 'GET /api/items' : `db.query ${i % 5}`,
        kind: i === 0 ? 2 : 3,
        startTimeUnixNano: start.toString(),
        endTimeUnixNano: (start + BigInt(500_000 + ((i * 7919) % 100) * 1_000_000)).toString(),
        attributes: [
          { key: 'http.method', value: { stringValue: 'GET' } },
          { key: 'http.route', value: { stringValue: '/api/items' } },
          { key: 'http.status_code', value: { intValue: String(i % 17 === 0 ? 500 : 200) } },
          { key: 'db.system', value: { stringValue: 'postgresql' } },
          { key: 'net.peer.name', value: { stringValue: 'db-1.internal' } },
        ],
        status: i % 17 === 0 ? { code: 2, message: 'boom' } : { code: 0 },
      });
    }
  }
  const req = {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, { key: 'host.name', value: { stringValue: 'bench-host' } }] },
      scopeSpans: [{ scope: { name: 'bench', version: '1.0.0' }, spans }],
    }],
  };
  return { body: encodeExportRequest('traces', req, 'protobuf'), traceIds, spanIds };
}

/** The outcome of posting one request. */
export interface PostResult {
  status: number;
  /** Retry-After header, when present. */
  retryAfter?: string;
}

/** Posts one protobuf body to `/v1/traces`. Never rejects: network errors give status 0. */
export function postTraces(url: string, body: Uint8Array, headers: Record<string, string>, agent: Agent): Promise<PostResult> {
  return new Promise((resolve) => {
    const req = request(`${url}/v1/traces`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength, ...headers },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
      res.on('error', () => resolve({ status: 0 }));
    });
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

/**
 * A request template whose ids can be made unique cheaply: request `n` is the
 * template with the first 4 bytes of every trace and span id (parents
 * included) replaced by `n`. Lets a load generator send millions of distinct
 * spans without encoding each request.
 */
export interface RequestTemplate {
  readonly spansPerRequest: number;
  /** The body of request `n` (a fresh buffer). */
  body(n: number): Buffer;
  /** The trace and span ids of request `n`, as raw bytes. */
  ids(n: number): { traceIds: Buffer[]; spanIds: { traceId: Buffer; spanId: Buffer }[] };
}

/** Builds a {@link RequestTemplate} from {@link buildTraceRequest}. */
export function createRequestTemplate(traces: number, spansPerTrace: number, service = 'bench-svc'): RequestTemplate {
  const base = buildTraceRequest(traces, spansPerTrace, service);
  const buf = Buffer.from(base.body);
  const offsets: number[] = [];
  const find = (hex: string): void => {
    const needle = Buffer.from(hex, 'hex');
    for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) offsets.push(at);
  };
  for (const t of base.traceIds) find(t);
  for (const s of base.spanIds) find(s);
  const traceIds = base.traceIds.map((h) => Buffer.from(h, 'hex'));
  const spanTrace: Buffer[] = [];
  base.traceIds.forEach((_, i) => { for (let j = 0; j < spansPerTrace; j++) spanTrace.push(traceIds[i]!); });
  const spanIds = base.spanIds.map((h) => Buffer.from(h, 'hex'));
  const stamp = (b: Buffer, n: number): Buffer => {
    const c = Buffer.from(b);
    c.writeUInt32BE(n >>> 0, 0);
    return c;
  };
  return {
    spansPerRequest: traces * spansPerTrace,
    body(n) {
      const out = Buffer.from(buf);
      for (const o of offsets) out.writeUInt32BE(n >>> 0, o);
      return out;
    },
    ids(n) {
      return {
        traceIds: traceIds.map((t) => stamp(t, n)),
        spanIds: spanIds.map((s, i) => ({ traceId: stamp(spanTrace[i]!, n), spanId: stamp(s, n) })),
      };
    },
  };
}
