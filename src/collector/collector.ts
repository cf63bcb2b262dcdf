// SPDX-License-Identifier: Apache-2.0
/**
 * The MaxPro span collector: OTLP/HTTP (`/v1/traces`, `/v1/logs`,
 * `/v1/metrics`, default port 4318) and OTLP/gRPC (default port 4317)
 * receivers in front of the embedded span store, plus the JSON query API
 * under `/api/`. Both receivers share one ingest path (`ingest.ts`): the same
 * credentials, limits, load shedding and group commit.
 *
 * Order of checks on an HTTP ingest request, cheapest first: authentication,
 * method and path, content type and encoding, declared length, load
 * (in-flight requests and bytes, queued spans, rate), then the body under
 * size limits, then decoding, then per-record limits. A 2xx answer is sent
 * only after the store committed the data.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { encodeErrorStatus, type OtlpFormat, type OtlpSignal } from '../lib/otlp/otlp-codec.js';
import { createBaggageAttributes, type CollectorBaggageOptions } from './baggage-attributes.js';
import { createCollectorAuth, type CollectorAuthOptions } from './collector-auth.js';
import { capToFileLimit, limitConnections } from '../lib/http/connection-limits.js';
import { refuseTunnels } from '../lib/http/refuse-tunnels.js';
import { grpcCodeOf, OverloadedError, RefusalError, UnauthenticatedError } from './collector-refusals.js';
import { createGroupCommit } from './group-commit.js';
import { createIngest, type CollectorLimits, type CollectorLoadOptions } from './ingest.js';
import { createOtlpGrpcReceiver, type OtlpGrpcReceiver } from './otlp-grpc-receiver.js';
import { readBody } from './read-body.js';
import { handleQuery } from './query-api.js';
import type { SpanStore } from './span-store.js';
import { createWorkerSpanStore } from './worker-span-store.js';

export type { CollectorAuthOptions } from './collector-auth.js';
export type { CollectorBaggageOptions } from './baggage-attributes.js';
export type { CollectorLimits, CollectorLoadOptions } from './ingest.js';

/** Connection timeouts; they also defeat slowloris clients. */
export interface CollectorTimeouts {
  /** Time to receive the request headers; default 10 s. */
  headersMs?: number;
  /** Time to receive the whole body; default 30 s. */
  bodyMs?: number;
  /** Idle keep-alive; default 5 s. */
  keepAliveMs?: number;
}

/** Caps on open connections (see lib/http/connection-limits.ts). */
export interface CollectorConnectionLimits {
  /** Default 1024; at the cap the longest-idle connection is closed, else the new one is refused. */
  max?: number;
  /** Per client address; default 256. */
  perClient?: number;
}

/** Options of {@link createCollector}. */
export interface CollectorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; default 4318 (OTLP/HTTP). 0 picks a free port. */
  port?: number;
  /**
   * Port of the OTLP/gRPC receiver; default 4317, or a free port when `port`
   * is 0. `false` turns the receiver off. It listens on `host`, with `tls`.
   */
  grpcPort?: number | false;
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
  connections?: CollectorConnectionLimits;
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
  /** OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`; undefined when the receiver is off. */
  readonly grpcUrl: string | undefined;
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

/**
 * Starts a collector and resolves once it listens.
 * @throws ConfigError when no authentication is configured and it was not disabled explicitly.
 */
export async function createCollector(options: CollectorOptions): Promise<Collector> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const auth = createCollectorAuth(options.auth as CollectorAuthOptions | undefined, log);
  const timeouts = {
    headersMs: options.timeouts?.headersMs ?? 10_000,
    bodyMs: options.timeouts?.bodyMs ?? 30_000,
    keepAliveMs: options.timeouts?.keepAliveMs ?? 5_000,
  };
  const store = options.store ?? await createWorkerSpanStore({
    dataDir: options.dataDir ?? defaultDataDir(),
    maxAgeMs: options.retention?.maxAgeMs,
    maxBytes: options.retention?.maxBytes,
    fsync: options.retention?.fsync,
  });

  const rejected = new Map<string, number>();
  const count = (reason: string, n = 1): void => {
    rejected.set(reason, (rejected.get(reason) ?? 0) + n);
  };
  let closing = false;
  const commits = createGroupCommit(store);
  const ingest = createIngest({ limits: options.limits, load: options.load, commit: commits, count, log });
  const lim = ingest.limits;
  const baggage = createBaggageAttributes(options.baggage, count);

  const ingestHttp = async (req: IncomingMessage, res: ServerResponse, signal: OtlpSignal): Promise<void> => {
    if (req.method !== 'POST') throw new RefusalError(405, 'method_not_allowed', `${String(req.method).slice(0, 20)} not allowed on ${(req.url ?? '').slice(0, 80)}; use POST`);
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format: OtlpFormat | undefined = ctype === 'application/x-protobuf' ? 'protobuf' : ctype === 'application/json' ? 'json' : undefined;
    if (!format) throw new RefusalError(415, 'unsupported_media_type', `content type '${ctype.slice(0, 80)}' not supported; use application/x-protobuf or application/json`);
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity' && encoding !== '') {
      throw new RefusalError(415, 'unsupported_encoding', `content encoding '${encoding.slice(0, 40)}' not supported; use gzip or none`);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > lim.maxBodyBytes) throw new RefusalError(413, 'body_too_large', `content-length ${declared} exceeds the ${lim.maxBodyBytes}-byte limit`);
    const release = ingest.reserve(encoding === 'gzip' ? lim.maxDecompressedBytes : lim.maxBodyBytes);
    let body: Buffer;
    try {
      body = await readBody(req, { maxBytes: lim.maxBodyBytes, maxInflatedBytes: lim.maxDecompressedBytes, gzip: encoding === 'gzip', timeoutMs: timeouts.bodyMs });
    } finally {
      release();
    }
    const extra = signal === 'traces' ? baggage(req.headersDistinct.baggage) : [];
    const out = await ingest.process(signal, body, format, extra);
    res.writeHead(200, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf', 'content-length': out.length });
    res.end(out);
  };

  const sendError = (req: IncomingMessage, res: ServerResponse, e: RefusalError, signal: OtlpSignal | undefined): void => {
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
      body = encodeErrorStatus(grpcCodeOf(e.status, true), e.message, 'protobuf');
      headers['content-type'] = 'application/x-protobuf';
    } else if (signal) {
      body = encodeErrorStatus(grpcCodeOf(e.status, true), e.message, 'json');
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
    // Node closes an HTTP/0.9 connection as soon as the request line is read: answer now or never.
    if (req.httpVersionMajor < 1) {
      count('bad_request');
      res.writeHead(505, { 'content-type': 'text/plain', connection: 'close' }).end('HTTP/1.0 or later required\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = SIGNAL_PATHS[path];
    void (async () => {
      let leave: (() => void) | undefined;
      try {
        if (path === '/healthz') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('ok\n');
          return;
        }
        if (closing) throw new OverloadedError(503, 'shutting_down', 'collector is shutting down', ingest.retryAfter);
        if (!auth.authorized(req.headers.authorization, firstHeader(req.headers['x-maxpro-auth']))) throw new UnauthenticatedError();
        leave = ingest.enter();
        if (signal) {
          await ingestHttp(req, res, signal);
        } else if (path.startsWith('/api/') || path === '/metrics') {
          if (req.method !== 'GET' && req.method !== 'HEAD') throw new RefusalError(405, 'method_not_allowed', `${String(req.method).slice(0, 20)} not allowed on ${path.slice(0, 80)}; use GET or HEAD`);
          const r = await handleQuery(store, req.url ?? '/', statsSnapshot);
          res.writeHead(r.status, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(r.body) });
          res.end(r.body);
        } else {
          throw new RefusalError(404, 'not_found', `no endpoint ${path.slice(0, 80)}`);
        }
      } catch (err) {
        if (err instanceof RefusalError) sendError(req, res, err, signal);
        else {
          log(`maxpro collector: internal error on ${path}: ${(err as Error).message}`);
          sendError(req, res, new RefusalError(500, 'internal', 'internal error', { cause: err }), signal);
        }
      } finally {
        leave?.();
      }
    })();
  };

  const statsSnapshot = (): CollectorStats => ({
    accepted: ingest.accepted(),
    rejected: Object.fromEntries(rejected),
    queuedSpans: commits.queued(),
    inflightRequests: ingest.inflightRequests(),
  });

  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
    : createHttpServer({ connectionsCheckingInterval: Math.min(1000, timeouts.headersMs) }, onRequest);
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.headersMs + timeouts.bodyMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.maxHeadersCount = 100;
  limitConnections(server, {
    maxConnections: capToFileLimit(options.connections?.max ?? 1024),
    maxPerClient: options.connections?.perClient ?? 256,
    count,
  });
  refuseTunnels(server, count);
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

  const port = options.port ?? 4318;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${options.tls ? 'https' : 'http'}://${shownHost}:${addr.port}`;

  let grpc: OtlpGrpcReceiver | undefined;
  const grpcPort = options.grpcPort ?? (port === 0 ? 0 : 4317);
  if (grpcPort !== false) {
    try {
      grpc = await createOtlpGrpcReceiver({
        host, port: grpcPort, tls: options.tls, ingest, auth, baggage, count, log, bodyMs: timeouts.bodyMs, closing: () => closing,
      });
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!options.store) await store.close();
      throw err;
    }
  }

  const retentionTimer = setInterval(() => {
    store.applyRetention().catch((err: unknown) => log(`maxpro collector: retention failed: ${(err as Error).message}`));
  }, options.retention?.intervalMs ?? 60_000);
  retentionTimer.unref();

  let closed: Promise<void> | undefined;
  return {
    url,
    grpcUrl: grpc?.url,
    store,
    stats: statsSnapshot,
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        clearInterval(retentionTimer);
        await Promise.all([
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
          grpc?.close(),
        ]);
        await commits.flush();
        await store.close();
      })();
      return closed;
    },
  };
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
