// SPDX-License-Identifier: Apache-2.0
// The serial probe manager and the agent's HTTP endpoints (pprof, health, stream).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { createProbeManager } from '../../../src/agent/probe-manager.js';
import { createAgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import { createLiveStream } from '../../../src/agent/http/live-stream.js';
import type { AgentEvent } from '../../../src/agent/agent-event.js';
import { createSelfMetrics } from '../../../src/agent/self-metrics.js';
import { addU64 } from '../../../src/agent/sources/pinned-aggregates.js';

describe('probe manager', () => {
  test('operations run one at a time, in order, each answering its caller', async () => {
    const m = createProbeManager();
    const log: string[] = [];
    let active = 0;
    const probe = (name: string) => ({
      name,
      reconfigure: async (c: number) => { active++; assert.equal(active, 1); log.push(`${name}:cfg${c}`); await new Promise((r) => setTimeout(r, 5)); active--; },
      unload: async () => { log.push(`${name}:unload`); },
    });
    const ops = [
      m.load('a', async () => { active++; await new Promise((r) => setTimeout(r, 10)); active--; log.push('a:load'); return probe('a'); }, 0),
      m.reconfigure('a', 1),
      m.load('b', () => { log.push('b:load'); return probe('b'); }, 0),
      m.reconfigure('a', 2),
      m.load('a', () => probe('a'), 0),
    ];
    const res = await Promise.allSettled(ops);
    assert.deepEqual(res.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    assert.match(String((res[4] as PromiseRejectedResult).reason), /already loaded/);
    assert.deepEqual(log, ['a:load', 'a:cfg1', 'b:load', 'a:cfg2']);
    await m.close();
    assert.deepEqual(log.slice(-2), ['b:unload', 'a:unload']);
    await assert.rejects(m.load('c', () => probe('c'), 0), /used after close/);
    assert.equal(m.history().filter((h) => !h.ok).length, 1);
  });
});

const event: AgentEvent = {
  probe: 'tcp', name: 'tcp.connect', timeMs: 0, pid: 1, tgid: 1, comm: 'curl', cgroupId: 5,
  fields: { 'tcp.connect.latency': 1 }, attributes: () => ({ a: 'b' }), workload: { labels: { app: 'x' }, attributes: {} },
};

describe('agent HTTP endpoints', () => {
  test('health, readiness, metrics, pprof heap and CPU profiles, live stream', async () => {
    let notReady: string | undefined = 'starting';
    const self = createSelfMetrics();
    const stream = createLiveStream({ maxClients: 1 });
    const server = await createAgentHttpServer({ listen: '127.0.0.1:0', collect: () => self.collect(), notReady: () => notReady, stream });
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
      notReady = undefined;
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      const m = await fetch(`${server.url}/metrics`);
      assert.equal(m.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const text = await m.text();
      for (const name of ['maxpro_agent_resident_memory_bytes', 'maxpro_nodejs_eventloop_delay_seconds', 'maxpro_nodejs_heap_bytes', 'maxpro_agent_cpu_seconds_total']) {
        assert.match(text, new RegExp(`^${name}`, 'm'));
      }
      const om = await fetch(`${server.url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
      assert.match(om.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
      assert.ok((await om.text()).endsWith('# EOF\n'));

      const heap = Profile.decode(gunzipSync(Buffer.from(await (await fetch(`${server.url}/debug/pprof/heap`)).arrayBuffer())));
      assert.equal(heap.stringTable.strings[Number(heap.sampleType[0]!.type)], 'inuse_space');
      assert.ok(heap.sample.length > 0);
      const burn = setInterval(() => { let x = 0; for (let i = 0; i < 2e5; i++) x += Math.sqrt(i); return x; }, 1);
      const cpuRes = await fetch(`${server.url}/debug/pprof/profile?seconds=1`);
      clearInterval(burn);
      const cpu = Profile.decode(gunzipSync(Buffer.from(await cpuRes.arrayBuffer())));
      assert.equal(cpu.stringTable.strings[Number(cpu.sampleType[1]!.type)], 'cpu');
      assert.ok(cpu.sample.length > 0);
      assert.equal((await fetch(`${server.url}/debug/pprof/profile?seconds=999`)).status, 400);

      const res = await fetch(`${server.url}/stream?probe=tcp`);
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
      assert.equal((await fetch(`${server.url}/stream`)).status, 503, 'maxClients: 1');
      const reader = res.body!.getReader();
      stream.publish({ ...event, probe: 'process', name: 'process.exec' }, true);
      stream.publish(event, true);
      // The first line is the stream's status; the first event follows.
      let got = '';
      while (got.split('\n').filter(Boolean).length < 2) got += Buffer.from((await reader.read()).value!).toString();
      const [status, first] = got.split('\n').map((l) => (l ? JSON.parse(l) as Record<string, unknown> : undefined));
      assert.deepEqual(status, { stream: { sent: 0, dropped: 0, probeLost: {} } });
      const line = first as { name: string; labels: Record<string, string> };
      assert.equal(line.name, 'tcp.connect');
      assert.deepEqual(line.labels, { app: 'x' });
      assert.equal(stream.stats().dropped.too_many_clients, 1);
      await reader.cancel();
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    } finally {
      await server.close();
      self.close();
    }
  });
});

test('live stream: a client that does not read loses events, each counted (slow_client)', async () => {
  const { createServer } = await import('node:http');
  const { connect } = await import('node:net');
  const stream = createLiveStream({ maxClients: 1, clientBufferBytes: 64 * 1024 });
  const server = createServer((req, res) => stream.attach(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
  sock.pause(); // never reads: the kernel buffers fill, then the response's own buffer
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stream.clients(), 1);
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    stream.publish(event, true);
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  const st = stream.stats();
  assert.ok(st.dropped.slow_client > 0, JSON.stringify(st));
  assert.equal(st.sent + st.dropped.slow_client, n);
  sock.destroy();
  stream.close();
  await new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
});

test('addU64 adds u64 counters element-wise', () => {
  const a = new Uint8Array(16), b = new Uint8Array(16);
  new DataView(a.buffer).setBigUint64(0, 2n ** 40n, true);
  new DataView(b.buffer).setBigUint64(0, 5n, true);
  new DataView(b.buffer).setBigUint64(8, 7n, true);
  const s = new DataView(addU64(a, b).buffer);
  assert.equal(s.getBigUint64(0, true), 2n ** 40n + 5n);
  assert.equal(s.getBigUint64(8, true), 7n);
  assert.throws(() => addU64(a, new Uint8Array(8)), /addU64/);
});
