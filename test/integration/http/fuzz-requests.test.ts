// SPDX-License-Identifier: Apache-2.0
/**
 * 10,000 random and hostile requests (request lines, methods, versions,
 * paths, query strings, headers, bodies) to the agent's HTTP server and to a
 * collector, each in its own process: both stay up, answer every request
 * with a status line, and their heap after a full GC returns to the
 * baseline measured after a warm-up (RSS within a bound).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startHttpServerChild } from '../../helpers/http-server-child.js';
import { mulberry32 } from '../../../src/lib/seeded-random.js';

const TOKEN = 'fuzz-test-token-0123456789';
const REQUESTS = 10_000;
const WARMUP = 1_000;
const CONCURRENCY = 24;
const MiB = 1024 * 1024;

/** A seeded generator, so a failure can be replayed. */
const prng = mulberry32;

const PATHS = {
  agent: ['/metrics', '/healthz', '/readyz', '/stream', '/tcp/aggregates', '/debug/pprof/heap', '/debug/pprof/profile', '/'],
  collector: ['/v1/traces', '/v1/logs', '/v1/metrics', '/api/spans', '/api/traces/4bf92f3577b34da6a3ce929d0e0e4736', '/api/services', '/api/operations', '/api/stats', '/metrics', '/healthz'],
};
const HOSTILE = ['//', '///', '//x', '/%', '/%zz', '/%00', '/..', '/../../etc/passwd', '/api//', '/api/traces//x', '/api/traces/%ff', 'http://[', 'http://agent/healthz',
  'https://x:99999/', 'http://a@b/', '*', 'x', '?', '/\u00e9', '/%c0%ae%c0%ae/', '/metrics#frag', '/stream?probe=tcp#x'];
const KEYS = ['seconds', 'probe', 'port', 'pid', 'comm', 'limit', 'start', 'end', 'service', 'operation', 'attr', 'minDuration', 'maxDuration', 'status',
  'pageToken', 'kept', 'name', 'failed', 'min_latency_ms', 'container', 'namespace', 'pod', '%zz', '', 'a[]'];
const VALUES = ['', '%', '%zz', '%ff', '-1', '0', '1', '0.1', '1e400', 'NaN', 'Infinity', '99999999999999999999', 'tcp', 'process', 'nope', 'true', 'error',
  '1h', '-5m', '2026-13-45T99:99:99Z', 'http.route=/x', '=', '&', '%00', '\u00ff', 'é'];
const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'PRI', 'G\u0000T', 'GETT', 'M-SEARCH', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.', 'HTTP/9.9', 'http/1.1', ''];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function junk(r: () => number, n: number, alphabet = 'abcXYZ019-_.~%/?&=;:@!$*+,\'()[] \t"<>\\^`{|}'): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

/** One whole request: every body it announces is sent, so a correct server can always answer at once. */
function hostileRequest(r: () => number, kind: 'agent' | 'collector'): Buffer {
  const method = r() < 0.05 ? junk(r, 1 + Math.floor(r() * 40), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') : pick(r, METHODS);
  let target: string;
  const roll = r();
  if (roll < 0.45) target = pick(r, PATHS[kind]);
  else if (roll < 0.65) target = pick(r, HOSTILE);
  else if (roll < 0.9) target = `/${Array.from({ length: 1 + Math.floor(r() * 6) }, () => junk(r, Math.floor(r() * 12), 'abz09%.-_~é\u0001')).join('/')}`;
  else target = `/${junk(r, 1000 + Math.floor(r() * 7000), 'abcdef%2F')}`;
  if (r() < 0.6) {
    const params = Array.from({ length: 1 + Math.floor(r() * 5) }, () => `${pick(r, KEYS)}=${r() < 0.1 ? junk(r, 500 + Math.floor(r() * 3000)) : pick(r, VALUES)}`);
    target += `?${params.join('&')}`;
  }
  const headers: string[] = [];
  if (r() < 0.9) headers.push(`Host: ${r() < 0.9 ? 'localhost' : junk(r, 20)}`);
  headers.push(r() < 0.85 ? 'Connection: close' : `Connection: ${pick(r, ['keep-alive', 'upgrade', junk(r, 10)])}`);
  const auth = r();
  // A hostile client has the token sometimes, to reach the parsing behind authentication,
  // but never for a CPU profile, whose answer legitimately takes its `seconds`.
  if (auth < 0.25 && !target.startsWith('/debug/pprof/profile')) headers.push(`Authorization: Bearer ${TOKEN}`);
  else if (auth < 0.45) headers.push(`Authorization: ${pick(r, ['Bearer', 'Bearer ', 'bearer wrong', 'Basic Zm9vOmJhcg==', `Bearer ${'x'.repeat(5000)}`, junk(r, 30)])}`);
  if (r() < 0.2) headers.push(`X-MaxPro-Auth: ${junk(r, 24)}`);
  if (r() < 0.3) headers.push(`Accept: ${pick(r, ['application/openmetrics-text; version=1.0.0', 'text/plain;q=0', '*/*', junk(r, 40)])}`);
  if (r() < 0.1) headers.push(`baggage: ${junk(r, 200)}`);
  const nHeaders = Math.floor(r() * 4);
  for (let i = 0; i < nHeaders; i++) {
    const name = r() < 0.8 ? `X-${junk(r, 8, 'abcdefghij-')}` : junk(r, 8, 'ab c:\u0001(');
    headers.push(`${name}: ${r() < 0.05 ? 'v'.repeat(20_000) : junk(r, Math.floor(r() * 80))}`);
  }
  if (r() < 0.02) for (let i = 0; i < 150; i++) headers.push(`X-Many-${i}: ${i}`);
  let body = Buffer.alloc(0);
  if (method === 'POST' || method === 'PUT' || r() < 0.05) {
    headers.push(`Content-Type: ${pick(r, ['application/x-protobuf', 'application/json', 'application/json; charset=utf-8', 'text/plain', junk(r, 20)])}`);
    const raw = r() < 0.5 ? Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: junk(r, 32, '0123456789abcdefg'), spanId: junk(r, 16, '0123456789abcdef'), name: junk(r, 10) }] }] }] }))
      : Buffer.from(Array.from({ length: Math.floor(r() * 2000) }, () => Math.floor(r() * 256)));
    const gz = r() < 0.3;
    body = gz ? (r() < 0.5 ? gzipSync(raw) : raw) : raw;
    if (gz) headers.push(`Content-Encoding: ${pick(r, ['gzip', 'gzip', 'br', 'deflate', junk(r, 8)])}`);
    const framing = r();
    if (framing < 0.8) headers.push(`Content-Length: ${body.length}`);
    else if (framing < 0.9) headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
    else if (framing < 0.95) headers.push(`Content-Length: ${pick(r, ['-1', 'abc', '1e3', '99999999999999999999999'])}`);
    else {
      headers.push('Transfer-Encoding: chunked');
      body = Buffer.concat([Buffer.from(`${r() < 0.8 ? body.length.toString(16) : 'zz'}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    }
  }
  const version = pick(r, VERSIONS);
  const line = r() < 0.03 ? junk(r, 60) : `${method} ${target}${version ? ` ${version}` : ''}`;
  return Buffer.concat([Buffer.from(`${line}\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Sends one request; resolves with the status of the first response line, 0 when none came within `timeoutMs`. */
function send(url: string, request: Buffer, timeoutMs: number): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve) => {
    let got = '';
    let done = false;
    const finish = (status: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(0), timeoutMs);
    const sock = connect(Number(u.port), u.hostname);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m && got.includes('\r\n')) finish(Number(m[1]));
    });
    sock.on('error', () => finish(/^HTTP\/1\.[01] (\d{3})/.exec(got) ? Number(got.slice(9, 12)) : 0));
    sock.on('close', () => finish(/^HTTP\/1\.[01] (\d{3})/.exec(got) ? Number(got.slice(9, 12)) : 0));
  });
}

async function fuzz(url: string, kind: 'agent' | 'collector', from: number, to: number, unanswered: string[]): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = from;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < to) {
      const i = next++;
      const req = hostileRequest(prng(i * 7919 + (kind === 'agent' ? 1 : 2)), kind);
      const status = await send(url, req, 5000);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 0) unanswered.push(`#${i}: ${JSON.stringify(req.subarray(0, 160).toString('latin1'))}`);
    }
  }));
  return statuses;
}

describe('fuzzed requests', () => {
  for (const kind of ['agent', 'collector'] as const) {
    test(`${kind}: ${REQUESTS} random and hostile requests, every one answered, server up, heap back to its baseline`, async (t) => {
      const server = await startHttpServerChild(kind, { token: TOKEN });
      t.after(() => server.stop());
      const unanswered: string[] = [];
      const t0 = Date.now();
      await fuzz(server.url, kind, 0, WARMUP, unanswered);
      const base = await server.memory();
      assert.ok(base.gc, 'the server process runs with --expose-gc');
      const statuses = await fuzz(server.url, kind, WARMUP, REQUESTS, unanswered);
      await new Promise((r) => setTimeout(r, 500));
      const after = await server.memory();
      const seconds = (Date.now() - t0) / 1000;
      t.diagnostic(`${kind}: ${REQUESTS} requests in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; `
        + `heap ${(base.heapUsed / MiB).toFixed(1)} -> ${(after.heapUsed / MiB).toFixed(1)} MiB, rss ${(base.rss / MiB).toFixed(0)} -> ${(after.rss / MiB).toFixed(0)} MiB`);
      assert.deepEqual(unanswered.slice(0, 10), [], `${unanswered.length} requests got no status line`);
      assert.ok(server.alive(), `the ${kind} process died`);
      assert.ok(![...statuses.keys()].some((s) => s >= 500 && s !== 503 && s !== 505), `server errors: ${JSON.stringify(Object.fromEntries(statuses))}`);
      assert.ok(after.heapUsed - base.heapUsed < Math.max(8 * MiB, base.heapUsed * 0.25), `heap grew ${((after.heapUsed - base.heapUsed) / MiB).toFixed(1)} MiB`);
      assert.ok(after.rss - base.rss < 64 * MiB, `rss grew ${((after.rss - base.rss) / MiB).toFixed(0)} MiB`);
      const auth = { authorization: `Bearer ${TOKEN}` };
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}${kind === 'agent' ? '/metrics' : '/api/services'}`, { headers: auth })).status, 200);
      const stats = await server.stats();
      if (stats.connections !== undefined) assert.ok(stats.connections <= 2, `${stats.connections} connections still open`);
    });
  }
});
