// SPDX-License-Identifier: Apache-2.0
/**
 * Idle and greedy clients against the agent's and the collector's HTTP
 * servers, each in its own process under a 1024-file limit: 1,000 idle or
 * half-sent connections leave /metrics and /healthz answering; one address
 * cannot take every /stream slot; a CPU profile whose client left stops and
 * frees the profiler for the next one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { request } from 'node:http';
import { startHttpServerChild } from '../../helpers/http-server-child.js';

const TOKEN = 'connection-limits-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** Opens `n` connections; every third one sends half a request and stops. */
async function idleConnections(url: string, n: number): Promise<Socket[]> {
  const u = new URL(url);
  const socks: Socket[] = [];
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    s.on('error', () => resolve());
    s.on('connect', () => {
      if (i % 3 === 0) s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      resolve();
    });
    socks.push(s);
  })));
  return socks;
}

async function timedStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return { status: res.status, ms: Date.now() - t0 };
  } catch {
    return { status: 0, ms: Date.now() - t0 };
  }
}

/** A GET from a chosen loopback source address; resolves with the status, the response left open. */
function getFrom(localAddress: string, url: string): Promise<{ status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers: AUTH }, (res) => resolve({ status: res.statusCode ?? 0, close: () => req.destroy() }));
    req.on('error', reject);
    req.end();
  });
}

describe('connection limits', () => {
  for (const kind of ['agent', 'collector'] as const) {
    test(`${kind}: 1,000 idle connections under a 1024-file limit leave /metrics and /healthz answering, evictions counted`, async (t) => {
      const server = await startHttpServerChild(kind, { token: TOKEN }, ['prlimit', '--nofile=1024:1024', '--']);
      const socks: Socket[] = [];
      t.after(async () => {
        for (const s of socks) s.destroy();
        await server.stop();
      });
      socks.push(...await idleConnections(server.url, 1000));
      for (const path of ['/healthz', '/metrics', '/healthz']) {
        const r = await timedStatus(`${server.url}${path}`, kind === 'collector' ? AUTH : {});
        assert.equal(r.status, 200, `${path} unanswered after 1,000 idle connections (${r.ms} ms)`);
        assert.ok(r.ms < 2000, `${path} took ${r.ms} ms`);
      }
      const stats = await server.stats();
      assert.ok((stats.refusals.evicted_idle ?? 0) > 0, JSON.stringify(stats));
      if (stats.connections !== undefined) assert.ok(stats.connections <= 256, `open connections ${stats.connections} above the cap`);
      assert.ok(server.alive());
    });
  }

  test('agent: one address cannot take every /stream slot; another address still subscribes', async (t) => {
    const server = await startHttpServerChild('agent', { token: TOKEN });
    t.after(() => server.stop());
    const greedy: Array<{ status: number; close(): void }> = [];
    t.after(() => { for (const g of greedy) g.close(); });
    for (let i = 0; i < 16; i++) greedy.push(await getFrom('127.0.0.1', `${server.url}/stream`));
    const statuses = greedy.map((g) => g.status);
    assert.equal(statuses.filter((s) => s === 200).length, 4, `maxClients 8: half per address (${statuses.join(',')})`);
    assert.ok(statuses.slice(4).every((s) => s === 503), statuses.join(','));
    const other = await getFrom('127.0.0.2', `${server.url}/stream`);
    greedy.push(other);
    assert.equal(other.status, 200, 'a second client address is not locked out');
  });

  test('agent: a CPU profile is cancelled when its client leaves; the next one is not refused as busy', async (t) => {
    const server = await startHttpServerChild('agent', { token: TOKEN });
    t.after(() => server.stop());
    const ac = new AbortController();
    const first = fetch(`${server.url}/debug/pprof/profile?seconds=60`, { headers: AUTH, signal: ac.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await fetch(`${server.url}/debug/pprof/profile?seconds=0.2`, { headers: AUTH })).status, 409, 'one profile at a time');
    ac.abort();
    await first;
    let status = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 3000) {
      status = (await fetch(`${server.url}/debug/pprof/profile?seconds=0.2`, { headers: AUTH })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, 'the abandoned 60-s profile still holds the profiler');
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(((await server.stats()).refusals.profile_busy ?? 0) >= 1);
  });
});
