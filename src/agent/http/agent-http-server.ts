// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's HTTP endpoints: `/metrics` (Prometheus text, or OpenMetrics
 * when the Accept header asks for it), `/healthz`, `/readyz`,
 * `/debug/pprof/profile?seconds=N`, `/debug/pprof/heap`, `/stream`
 * (NDJSON live events), `/stream/status?id=` (a subscriber's drops, out of band), `/tcp/aggregates` (JSON, for `maxpro top tcp`)
 * and `/attestation` (JSON: the BPF objects loaded, their digests and signers; docs/supply-chain.md).
 *
 * Authentication (see agent-http-auth.ts) guards every endpoint but the open
 * ones; connection limits (see connection-limits.ts) and header timeouts keep
 * idle or slow clients from starving the rest. Refusals are counted by reason.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, negotiateFormat, renderExposition } from '../../exporters/openmetrics/exposition.js';
import type { MetricFamily } from '../../lib/metric-family.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { parseRequestTarget } from '../../lib/http/request-target.js';
import { capToFileLimit, limitConnections } from '../../lib/http/connection-limits.js';
import { refuseTunnels } from '../../lib/http/refuse-tunnels.js';
import { cpuProfile, startHeapProfiler } from './pprof.js';
import { createAgentHttpAuth } from './agent-http-auth.js';
import type { AgentHttpAuthOptions, AgentOpenEndpoint } from './agent-http-auth.js';
import type { SamplingHeapProfiler } from './pprof.js';
import type { LiveStream } from './live-stream.js';

export interface AgentHttpServerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  /** Every family for one scrape. */
  collect(): MetricFamily[];
  /** undefined when ready, else the reason it is not. */
  notReady(): string | undefined;
  stream?: LiveStream;
  /** More GET routes (the probes' own, e.g. `/tcp/aggregates`), by path, behind the token; a path not given is a plain 404. */
  routes?: Readonly<Record<string, { handle(req: IncomingMessage, res: ServerResponse): void }>>;
  /** Serves `/attestation` (behind the token); none: a plain 404. */
  attestation?: () => unknown;
  /** Serve /debug/pprof (behind the token). Default false. */
  pprof?: boolean;
  /** Required: tokens, or `{ disabled: true }` (loopback only). */
  auth: AgentHttpAuthOptions;
  limits?: AgentHttpLimits;
  onError?(err: unknown): void;
}

export interface AgentHttpLimits {
  /** Open connections at most; at the cap the longest-idle one is closed. Default 256. */
  maxConnections?: number;
  /** Open connections per client address at most. Default 64. */
  maxPerClient?: number;
  /** Time a client has to send its request headers. Default 10 s. */
  headersTimeoutMs?: number;
}

/** Why a request or connection was refused; counted in `refusals()`. */
export type AgentHttpRefusal =
  | 'unauthorized' | 'evicted_idle' | 'too_many_connections' | 'too_many_per_client'
  | 'request_timeout' | 'headers_too_large' | 'bad_request' | 'profile_busy';

export interface AgentHttpServer {
  /** The base URL, e.g. http://127.0.0.1:9464. */
  readonly url: string;
  readonly port: number;
  scrapes(): number;
  /** Refusals so far, by reason. */
  refusals(): Record<AgentHttpRefusal, number>;
  /** Open connections. */
  connections(): number;
  close(): Promise<void>;
}

const MAX_PROFILE_SECONDS = 60;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new InvalidArgumentError(`listen address ${JSON.stringify(listen)} is not host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidArgumentError(`listen address ${listen}: port out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Starts listening. May throw `InvalidArgumentError`; rejects when the port is taken. */
export async function createAgentHttpServer(options: AgentHttpServerOptions): Promise<AgentHttpServer> {
  const { host, port } = parseListen(options.listen);
  const auth = createAgentHttpAuth(options.auth, host);
  let heap: SamplingHeapProfiler | undefined;
  if (options.pprof === true) heap = await startHeapProfiler();
  let scrapes = 0;
  let profiling = false;
  const refusals: Record<AgentHttpRefusal, number> = {
    unauthorized: 0, evicted_idle: 0, too_many_connections: 0, too_many_per_client: 0,
    request_timeout: 0, headers_too_large: 0, bad_request: 0, profile_busy: 0,
  };
  const routes = options.routes ?? {};
  const KIND: Record<string, AgentOpenEndpoint> = { '/metrics': 'metrics', '/healthz': 'health', '/readyz': 'health' };

  const server: Server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    const fail = (err: unknown): void => {
      options.onError?.(err);
      if (res.destroyed) return;
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${err instanceof Error ? err.message : String(err)}\n`);
    };
    // Nothing a client sends may throw past this handler: every step,
    // parsing the target included, is inside the try.
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end(`${String(req.method).slice(0, 20)} not allowed; use GET or HEAD\n`);
        return;
      }
      const url = parseRequestTarget(req.url);
      if (!url) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('request target is not a path\n');
        return;
      }
      // HEAD answers what GET would, without a body and without starting
      // long-running work (a stream subscription, a CPU profile).
      const head = req.method === 'HEAD';
      const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
      const known = url.pathname in KIND || ['/stream', '/stream/status', '/attestation'].includes(url.pathname) || route !== undefined
        || (heap !== undefined && url.pathname.startsWith('/debug/pprof/'));
      if (known && !auth.allows(KIND[url.pathname] ?? 'private', req.headers.authorization)) {
        refusals.unauthorized++;
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="maxpro-agent"' })
          .end(head ? undefined : `${url.pathname} needs Authorization: Bearer <token>${auth.hint ? ` (the agent's token is in ${auth.hint})` : ''}\n`);
        return;
      }
      switch (url.pathname) {
        case '/metrics': {
          scrapes++;
          const format = negotiateFormat(req.headers.accept);
          const body = renderExposition(options.collect(), format);
          res.writeHead(200, { 'content-type': format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE });
          res.end(head ? undefined : body);
          return;
        }
        case '/healthz':
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
          return;
        case '/readyz': {
          const why = options.notReady();
          res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain; charset=utf-8' }).end(why ? `not ready: ${why}\n` : 'ready\n');
          return;
        }
        case '/stream':
          if (!options.stream) break;
          if (head) {
            res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' }).end();
            return;
          }
          // Only an authenticated subscriber may widen what the kernel sends (for every consumer).
          options.stream.attach(req, res, { widen: auth.enabled });
          return;
        case '/stream/status':
          if (!options.stream) break;
          options.stream.serveStatus(url.searchParams, res);
          return;
        case '/attestation':
          if (!options.attestation) break;
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(head ? undefined : `${JSON.stringify(options.attestation(), null, 2)}\n`);
          return;
        case '/debug/pprof/profile': {
          if (!heap) break;
          const seconds = Number(url.searchParams.get('seconds') ?? '10');
          if (!(seconds > 0 && seconds <= MAX_PROFILE_SECONDS)) {
            res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`seconds must be in (0, ${MAX_PROFILE_SECONDS}]\n`);
            return;
          }
          if (head) {
            res.writeHead(200, { 'content-type': 'application/octet-stream' }).end();
            return;
          }
          if (profiling) {
            refusals.profile_busy++;
            res.writeHead(409, { 'content-type': 'text/plain; charset=utf-8' }).end('a CPU profile is already running\n');
            return;
          }
          profiling = true;
          // A client that leaves cancels its profile: the profiler stops and the next one may start.
          const gone = new AbortController();
          res.once('close', () => gone.abort(new Error('the client left')));
          cpuProfile(seconds, undefined, gone.signal).then((buf) => {
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="profile.pb.gz"' }).end(buf);
          }, (err: unknown) => { if (!gone.signal.aborted) fail(err); }).finally(() => { profiling = false; });
          return;
        }
        case '/debug/pprof/heap':
          if (!heap) break;
          if (head) {
            res.writeHead(200, { 'content-type': 'application/octet-stream' }).end();
            return;
          }
          heap.profile().then((buf) => {
            res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="heap.pb.gz"' }).end(buf);
          }, fail);
          return;
        default:
          if (!route) break;
          route.handle(req, res);
          return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    } catch (err) {
      fail(err);
    }
  });
  const headersMs = options.limits?.headersTimeoutMs ?? 10_000;
  // Longer than Prometheus' scrape interval, so scrapes reuse their connection; idle ones are evicted at the cap.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = headersMs;
  server.requestTimeout = headersMs + 5_000;
  server.maxHeadersCount = 100;
  const limits = limitConnections(server, {
    maxConnections: capToFileLimit(options.limits?.maxConnections ?? 256),
    maxPerClient: options.limits?.maxPerClient ?? 64,
    count: (reason) => { refusals[reason]++; },
  });
  refuseTunnels(server, () => { refusals.bad_request++; });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const code = err.code ?? '';
    const timeout = code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT';
    refusals[timeout ? 'request_timeout' : code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request']++;
    if (socket.writable && !(socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.end(`HTTP/1.1 ${timeout ? '408 Request Timeout' : code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    scrapes: () => scrapes,
    refusals: () => ({ ...refusals }),
    connections: () => limits.open(),
    close() {
      closed ??= (async () => {
        options.stream?.close();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await heap?.stop();
      })();
      return closed;
    },
  };
}
