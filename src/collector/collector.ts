// SPDX-License-Identifier: Apache-2.0
/**
 * The MaxPro span collector: an OTLP/HTTP receiver (`/v1/traces`,
 * `/v1/logs`, `/v1/metrics`) in front of the embedded span store, plus the
 * JSON query API under `/api/`.
 *
 * Order of checks on an ingest request, cheapest first: authentication,
 * method and path, content type and encoding, declared length, load
 * (in-flight requests and bytes, queued spans, rate), then the body under
 * size limits, then decoding, then per-record limits. A 2xx answer is sent
 * only after the store committed the data.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.js';
import { decodeExportMessage, decodeExportRequest, encodeErrorStatus, encodeExportResponse, type OtlpFormat, type OtlpSignal } from '../lib/otlp/otlp-codec.js';
import { OtlpDecodeError } from '../lib/otlp/otlp-errors.js';
import type { PbMessage } from '../lib/otlp/otlp-values.js';
import { parseBaggage } from '../lib/trace-context/baggage.js';
import { BodyRefusal, readBody } from './read-body.js';
import { handleQuery } from './query-api.js';
import { normalizeLogs, normalizeMetrics, normalizeSpans, type KeyValue, type NormalizeResult, type RecordLimits, type RecordRow, type SpanRow } from './span-model.js';
import type { SpanStore, StoreBatch } from './span-store.js';
import { createWorkerSpanStore } from './worker-span-store.js';
import { decodeSpanRows } from './span-wire-decoder.js';

/** Who may call the collector. Authentication is on unless `disabled: true` is given. */
export type CollectorAuthOptions =
  | {
    /** Accepted `Authorization: Bearer <token>` values. */
    tokens?: readonly string[];
    /** Accepted `X-MaxPro-Auth: <key>` values. */
    apiKeys?: readonly string[];
    disabled?: false;
  }
  | { disabled: true };

/** Request size and shape limits. */
export interface CollectorLimits extends RecordLimits {
  /** Most bytes of a request body as sent (compressed or not); default 4 MiB. */
  maxBodyBytes?: number;
  /** Most bytes of a gzip body once inflated; default 32 MiB. */
  maxDecompressedBytes?: number;
  /** Deepest JSON nesting of a body; default 64. */
  maxJsonDepth?: number;
}

/** Back-pressure: past these the collector answers 429/503 with Retry-After. */
export interface CollectorLoadOptions {
  /** Most requests being read, decoded or written at once; default 256 (503 beyond). */
  maxInflightRequests?: number;
  /** Most body bytes held in memory across requests; default 256 MiB (503 beyond). */
  maxInflightBytes?: number;
  /** Most spans decoded and waiting for commit; default 200,000 (429 beyond). */
  maxQueuedSpans?: number;
  /** Sustained ingest rate cap in spans/s (token bucket, 1 s burst); 0 = none (default). */
  maxSpansPerSecond?: number;
  /** The Retry-After value, seconds; default 1. */
  retryAfterSeconds?: number;
}

/** Connection timeouts; they also defeat slowloris clients. */
export interface CollectorTimeouts {
  /** Time to receive the request headers; default 10 s. */
  headersMs?: number;
  /** Time to receive the whole body; default 30 s. */
  bodyMs?: number;
  /** Idle keep-alive; default 5 s. */
  keepAliveMs?: number;
}

/** Baggage on ingest requests that is copied onto the spans as attributes. */
export interface CollectorBaggageOptions {
  /** The baggage keys that may become span attributes. Empty (default) attaches none. */
  allowKeys?: readonly string[];
  /** Prefix for the attribute key; default '' (the baggage key itself). */
  attributePrefix?: string;
  /** Most entries attached per request; default 16. */
  maxEntries?: number;
  /** Longest value attached, in characters; default 256. */
  maxValueLength?: number;
  /** Most bytes of `baggage` headers read; default 8192. */
  maxHeaderBytes?: number;
}

/** Options of {@link createCollector}. */
export interface CollectorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; default 4318 (OTLP/HTTP). 0 picks a free port. */
  port?: number;
  /** Where the embedded store keeps its files; default {@link defaultDataDir}. */
  dataDir?: string;
  /** A store to use instead of the embedded SQLite one (closed by `close()`). */
  store?: SpanStore;
  /** Required: credentials, or `{ disabled: true }`. */
  auth: CollectorAuthOptions;
  /** Serve HTTPS with this PEM key and certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  limits?: CollectorLimits;
  load?: CollectorLoadOptions;
  timeouts?: CollectorTimeouts;
  baggage?: CollectorBaggageOptions;
  /** Retention of the embedded store. */
  retention?: { maxAgeMs?: number; maxBytes?: number; intervalMs?: number; fsync?: boolean };
  /** Where warnings go; default stderr. Never receives tokens or bodies. */
  log?: (line: string) => void;
}

/** Counters of the collector, all monotonic except the gauges. */
export interface CollectorStats {
  /** Accepted records per signal (spans, log records, metrics). */
  accepted: Record<OtlpSignal, number>;
  /** Rejected requests or records, by reason. */
  rejected: Record<string, number>;
  /** Gauge: spans waiting for commit. */
  queuedSpans: number;
  /** Gauge: requests in progress. */
  inflightRequests: number;
}

/** A running collector. */
export interface Collector {
  /** Base URL, e.g. `http://127.0.0.1:4318`. */
  readonly url: string;
  readonly store: SpanStore;
  stats(): CollectorStats;
  /** Stops listening, finishes pending commits and closes the store. */
  close(): Promise<void>;
}

/** `$MAXPRO_DATA_DIR/collector`, else `$XDG_DATA_HOME/maxpro/collector`, else `~/.local/share/maxpro/collector`. */
export function defaultDataDir(): string {
  if (process.env.MAXPRO_DATA_DIR) return join(process.env.MAXPRO_DATA_DIR, 'collector');
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'maxpro', 'collector');
}

const SIGNAL_PATHS: Record<string, OtlpSignal> = { '/v1/traces': 'traces', '/v1/logs': 'logs', '/v1/metrics': 'metrics' };

interface Pending {
  batch: StoreBatch;
  spans: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

class HttpRefusal extends Error {
  constructor(readonly status: number, readonly reason: string, message: string, readonly retryAfter?: number) {
    super(message);
  }
}

/**
 * Starts a collector and resolves once it listens.
 * @throws ConfigError when no authentication is configured and it was not disabled explicitly.
 */
export async function createCollector(options: CollectorOptions): Promise<Collector> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const auth = options.auth as CollectorAuthOptions | undefined;
  if (!auth) throw new ConfigError('collector: auth is required; pass tokens/apiKeys or { disabled: true }');
  let tokenDigests: Buffer[] = [];
  let keyDigests: Buffer[] = [];
  if (auth.disabled === true) {
    log('maxpro collector: WARNING: authentication is disabled; anyone who can reach the port can write and read traces');
  } else {
    tokenDigests = (auth.tokens ?? []).filter((t) => t !== '').map(digest);
    keyDigests = (auth.apiKeys ?? []).filter((t) => t !== '').map(digest);
    if (tokenDigests.length + keyDigests.length === 0) {
      throw new ConfigError('collector: no bearer token or API key configured; set one, or disable auth explicitly');
    }
  }
  const lim = {
    maxBodyBytes: options.limits?.maxBodyBytes ?? 4 * 1024 * 1024,
    maxDecompressedBytes: options.limits?.maxDecompressedBytes ?? 32 * 1024 * 1024,
    maxJsonDepth: options.limits?.maxJsonDepth ?? 64,
  };
  const load = {
    maxInflightRequests: options.load?.maxInflightRequests ?? 256,
    maxInflightBytes: options.load?.maxInflightBytes ?? 256 * 1024 * 1024,
    maxQueuedSpans: options.load?.maxQueuedSpans ?? 200_000,
    maxSpansPerSecond: options.load?.maxSpansPerSecond ?? 0,
    retryAfter: options.load?.retryAfterSeconds ?? 1,
  };
  const timeouts = {
    headersMs: options.timeouts?.headersMs ?? 10_000,
    bodyMs: options.timeouts?.bodyMs ?? 30_000,
    keepAliveMs: options.timeouts?.keepAliveMs ?? 5_000,
  };
  const bag = {
    allow: new Set(options.baggage?.allowKeys ?? []),
    prefix: options.baggage?.attributePrefix ?? '',
    maxEntries: options.baggage?.maxEntries ?? 16,
    maxValueLength: options.baggage?.maxValueLength ?? 256,
    maxHeaderBytes: options.baggage?.maxHeaderBytes ?? 8192,
  };
  const store = options.store ?? await createWorkerSpanStore({
    dataDir: options.dataDir ?? defaultDataDir(),
    maxAgeMs: options.retention?.maxAgeMs,
    maxBytes: options.retention?.maxBytes,
    fsync: options.retention?.fsync,
  });

  const accepted: Record<OtlpSignal, number> = { traces: 0, logs: 0, metrics: 0 };
  const rejected = new Map<string, number>();
  const count = (reason: string, n = 1): void => {
    rejected.set(reason, (rejected.get(reason) ?? 0) + n);
  };
  let inflight = 0;
  let inflightBytes = 0;
  let queuedSpans = 0;
  let tokens = load.maxSpansPerSecond;
  let tokensAt = Date.now();
  const queue: Pending[] = [];
  let flushing = false;
  let closing = false;

  const takeTokens = (n: number): boolean => {
    if (load.maxSpansPerSecond <= 0) return true;
    const now = Date.now();
    tokens = Math.min(load.maxSpansPerSecond, tokens + ((now - tokensAt) / 1000) * load.maxSpansPerSecond);
    tokensAt = now;
    if (tokens < n && n <= load.maxSpansPerSecond) return false;
    tokens -= n;
    return true;
  };

  // Group commit: every request that arrived while the previous commit ran is
  // written in one transaction, then all of them are answered.
  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0) {
        const items = queue.splice(0, queue.length);
        let batch: StoreBatch;
        if (items.length === 1) {
          batch = items[0]!.batch;
        } else {
          // A loop, not push(...rows): a large request would overflow the argument limit.
          const spans: SpanRow[] = [];
          const logs: RecordRow[] = [];
          const metrics: RecordRow[] = [];
          for (const p of items) {
            for (const r of p.batch.spans) spans.push(r);
            for (const r of p.batch.logs) logs.push(r);
            for (const r of p.batch.metrics) metrics.push(r);
          }
          batch = { spans, logs, metrics };
        }
        try {
          await store.write(batch);
          for (const p of items) p.resolve();
        } catch (err) {
          for (const p of items) p.reject(err);
        } finally {
          for (const p of items) queuedSpans -= p.spans;
        }
        // Let the event loop read more requests between commits.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      flushing = false;
    }
  };
  const commit = (batch: StoreBatch, spans: number): Promise<void> => new Promise((resolve, reject) => {
    queuedSpans += spans;
    queue.push({ batch, spans, resolve, reject });
    if (!flushing) setImmediate(() => void flush());
  });

  const authorized = (req: IncomingMessage): boolean => {
    if (auth.disabled === true) return true;
    const h = req.headers.authorization;
    if (typeof h === 'string' && /^bearer /i.test(h)) {
      const d = digest(h.slice(7).trim());
      if (tokenDigests.some((t) => timingSafeEqual(t, d))) return true;
    }
    const k = req.headers['x-maxpro-auth'];
    if (typeof k === 'string') {
      const d = digest(k.trim());
      if (keyDigests.some((t) => timingSafeEqual(t, d))) return true;
    }
    return false;
  };

  const baggageAttributes = (req: IncomingMessage): KeyValue[] => {
    const header = req.headersDistinct.baggage;
    if (!header || bag.allow.size === 0) return [];
    const parsed = parseBaggage(header, { maxBytes: bag.maxHeaderBytes, maxMembers: 64 });
    if (!parsed.ok) {
      count('baggage_invalid');
      return [];
    }
    const out: KeyValue[] = [];
    for (const e of parsed.entries) {
      if (!bag.allow.has(e.key)) { count('baggage_not_allowed'); continue; }
      if (e.value.length > bag.maxValueLength) { count('baggage_too_long'); continue; }
      if (out.length >= bag.maxEntries) { count('baggage_too_many'); continue; }
      out.push({ key: bag.prefix + e.key, value: { stringValue: e.value } });
    }
    return out;
  };

  const ingest = async (req: IncomingMessage, res: ServerResponse, signal: OtlpSignal): Promise<void> => {
    if (req.method !== 'POST') throw new HttpRefusal(405, 'method_not_allowed', `${String(req.method).slice(0, 20)} not allowed on ${(req.url ?? '').slice(0, 80)}; use POST`);
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format: OtlpFormat | undefined = ctype === 'application/x-protobuf' ? 'protobuf' : ctype === 'application/json' ? 'json' : undefined;
    if (!format) throw new HttpRefusal(415, 'unsupported_media_type', `content type '${ctype.slice(0, 80)}' not supported; use application/x-protobuf or application/json`);
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity' && encoding !== '') {
      throw new HttpRefusal(415, 'unsupported_encoding', `content encoding '${encoding.slice(0, 40)}' not supported; use gzip or none`, undefined);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > lim.maxBodyBytes) throw new HttpRefusal(413, 'body_too_large', `content-length ${declared} exceeds the ${lim.maxBodyBytes}-byte limit`);
    const budget = encoding === 'gzip' ? lim.maxDecompressedBytes : lim.maxBodyBytes;
    if (inflightBytes + budget > load.maxInflightBytes) throw new HttpRefusal(503, 'memory_limit', 'collector is at its memory budget; retry later', load.retryAfter);
    if (queuedSpans >= load.maxQueuedSpans) throw new HttpRefusal(429, 'queue_full', `${queuedSpans} spans wait for storage; retry later`, load.retryAfter);
    inflightBytes += budget;
    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: lim.maxBodyBytes, maxInflatedBytes: lim.maxDecompressedBytes, gzip: encoding === 'gzip', timeoutMs: timeouts.bodyMs });
    } finally {
      inflightBytes -= budget;
    }
    let result: NormalizeResult<unknown>;
    const batch: StoreBatch = { spans: [], logs: [], metrics: [] };
    try {
      if (signal === 'traces') {
        // Protobuf spans are read straight from the wire; JSON goes through
        // the message. Both build identical rows.
        const extra = baggageAttributes(req);
        const r = format === 'protobuf'
          ? decodeSpanRows(body, options.limits, extra)
          : normalizeSpans(decodeExportMessage(signal, body, format, { maxJsonDepth: lim.maxJsonDepth }) as unknown as PbMessage, options.limits, extra);
        batch.spans = r.rows;
        result = r;
      } else if (signal === 'logs') {
        const r = normalizeLogs(decodeExportRequest(signal, body, format, { maxJsonDepth: lim.maxJsonDepth }), options.limits);
        batch.logs = r.rows;
        result = r;
      } else {
        const r = normalizeMetrics(decodeExportRequest(signal, body, format, { maxJsonDepth: lim.maxJsonDepth }), options.limits);
        batch.metrics = r.rows;
        result = r;
      }
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw new HttpRefusal(400, err.reason, err.message);
      throw err;
    }
    for (const [reason, n] of result.reasons) count(reason, n);
    const n = result.rows.length;
    if (n > 0) {
      if (queuedSpans + n > load.maxQueuedSpans) throw new HttpRefusal(429, 'queue_full', `${queuedSpans} spans wait for storage; retry later`, load.retryAfter);
      if (!takeTokens(n)) throw new HttpRefusal(429, 'rate_limited', `ingest rate above ${load.maxSpansPerSecond} spans/s; retry later`, load.retryAfter);
      try {
        await commit(batch, n);
      } catch (err) {
        log(`maxpro collector: storage write failed: ${(err as Error).message}`);
        throw new HttpRefusal(503, 'storage_error', 'storage write failed; nothing was stored, retry later', load.retryAfter);
      }
      accepted[signal] += n;
    }
    const out = encodeExportResponse(signal, { rejected: result.rejected, errorMessage: result.firstError }, format);
    res.writeHead(200, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': out.length });
    res.end(out);
  };

  const sendError = (req: IncomingMessage, res: ServerResponse, e: HttpRefusal, signal: OtlpSignal | undefined): void => {
    count(e.reason);
    if (res.headersSent) { res.destroy(); return; }
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const headers: Record<string, string | number> = {};
    if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
    if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="maxpro"';
    // After a refusal the rest of the body is unwanted: close the connection.
    if (!req.complete) headers.connection = 'close';
    let body: Uint8Array;
    if (signal && ctype === 'application/x-protobuf') {
      body = encodeErrorStatus(grpcCode(e.status), e.message, 'protobuf');
      headers['content-type'] = 'application/x-protobuf';
    } else if (signal) {
      body = encodeErrorStatus(grpcCode(e.status), e.message, 'json');
      headers['content-type'] = 'application/json';
    } else {
      body = Buffer.from(JSON.stringify({ error: { status: e.status, reason: e.reason, message: e.message } }));
      headers['content-type'] = 'application/json';
    }
    headers['content-length'] = body.length;
    const respond = (): void => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(e.status, headers);
      res.end(body);
    };
    if (req.complete || req.destroyed) {
      respond();
      return;
    }
    // Read and discard the unwanted rest of the body (bounded in bytes and
    // time) before answering, so the client gets the status, not a reset.
    let drained = 0;
    const timer = setTimeout(respond, 2000);
    timer.unref();
    req.on('data', (c: Buffer) => {
      drained += c.length;
      if (drained > lim.maxBodyBytes) {
        clearTimeout(timer);
        respond();
      }
    });
    req.on('end', () => {
      clearTimeout(timer);
      respond();
    });
    req.resume();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = SIGNAL_PATHS[path];
    void (async () => {
      inflight++;
      try {
        if (path === '/healthz') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ok\n');
          return;
        }
        if (closing) throw new HttpRefusal(503, 'shutting_down', 'collector is shutting down', load.retryAfter);
        if (!authorized(req)) throw new HttpRefusal(401, 'unauthorized', 'missing or invalid credentials: send Authorization: Bearer <token> or X-MaxPro-Auth: <key>');
        if (inflight > load.maxInflightRequests) throw new HttpRefusal(503, 'inflight_limit', `more than ${load.maxInflightRequests} requests in progress; retry later`, load.retryAfter);
        if (signal) {
          await ingest(req, res, signal);
        } else if (path.startsWith('/api/') || path === '/metrics') {
          if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpRefusal(405, 'method_not_allowed', `${String(req.method).slice(0, 20)} not allowed on ${path.slice(0, 80)}; use GET or HEAD`);
          const r = await handleQuery(store, req.url ?? '/', statsSnapshot);
          res.writeHead(r.status, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(r.body) });
          res.end(r.body);
        } else {
          throw new HttpRefusal(404, 'not_found', `no endpoint ${path.slice(0, 80)}`);
        }
      } catch (err) {
        if (err instanceof HttpRefusal) sendError(req, res, err, signal);
        else if (err instanceof BodyRefusal) sendError(req, res, new HttpRefusal(err.status, err.reason, err.message), signal);
        else {
          log(`maxpro collector: internal error on ${path}: ${(err as Error).message}`);
          sendError(req, res, new HttpRefusal(500, 'internal', 'internal error'), signal);
        }
      } finally {
        inflight--;
      }
    })();
  };

  const statsSnapshot = (): CollectorStats => ({
    accepted: { ...accepted },
    rejected: Object.fromEntries(rejected),
    queuedSpans,
    inflightRequests: inflight,
  });

  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
    : createHttpServer({ connectionsCheckingInterval: Math.min(1000, timeouts.headersMs) }, onRequest);
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.headersMs + timeouts.bodyMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.maxHeadersCount = 100;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const code = err.code ?? '';
    const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT';
    count(timeout ? 'request_timeout' : code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request');
    if (socket.writable && !('_httpMessage' in socket && (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent)) {
      socket.end(timeout ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4318, options.host ?? '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${addr.port}`;

  const retentionTimer = setInterval(() => {
    store.applyRetention().catch((err: unknown) => log(`maxpro collector: retention failed: ${(err as Error).message}`));
  }, options.retention?.intervalMs ?? 60_000);
  retentionTimer.unref();

  let closed: Promise<void> | undefined;
  return {
    url,
    store,
    stats: statsSnapshot,
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        clearInterval(retentionTimer);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await flush();
        await store.close();
      })();
      return closed;
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The gRPC status code OTLP/HTTP puts in the `Status` body for an HTTP status. */
function grpcCode(status: number): number {
  switch (status) {
    case 400: case 413: case 415: return 3; // INVALID_ARGUMENT
    case 401: return 16; // UNAUTHENTICATED
    case 404: return 5;
    case 408: return 4; // DEADLINE_EXCEEDED
    case 429: return 8; // RESOURCE_EXHAUSTED
    case 503: return 14; // UNAVAILABLE
    default: return 13; // INTERNAL
  }
}
