// SPDX-License-Identifier: Apache-2.0
// The serial probe manager, the agent's HTTP endpoints (pprof, health, stream) and its TCP metric labels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { createProbeManager } from '../../../src/agent/probe-manager.js';
import { createAgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import { createLiveStream } from '../../../src/agent/http/live-stream.js';
import type { AgentEvent } from '../../../src/agent/agent-event.js';
import { createSelfMetrics } from '../../../src/agent/self-metrics.js';
import { addU64 } from '../../../src/probes/pinned-aggregates.js';
import { createWorkloadLabeler } from '../../../src/agent/workload-labeler.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { createTcpMetrics } from '../../../src/probes/tcp/tcp-metrics.js';
import type { TcpMetricsOptions } from '../../../src/probes/tcp/tcp-metrics.js';
import { TCP_AGG_COUNTERS, TCP_GLOBAL_COUNTERS } from '../../../src/probes/tcp/tcp-aggregates.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import { renderExposition } from '../../../src/exporters/openmetrics/exposition.js';
import { createLogLinearHistogram } from '../../../src/lib/histogram/index.js';
import type { CgroupResolver } from '../../../src/enrich/cgroup-resolver.js';

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
    const server = await createAgentHttpServer({ listen: '127.0.0.1:0', collect: () => self.collect(), notReady: () => notReady, stream, pprof: true, auth: { disabled: true } });
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
  assert.equal(st.sent + st.queued + st.dropped.slow_client, n, 'every event sent, queued or dropped');
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

describe('agent tcp metrics', () => {
  const POD = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
  const CTR = 'a'.repeat(64);
  const paths = new Map<number, string>([
    [10, '/system.slice/postgres.service'],
    [11, `/kubepods.slice/kubepods-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${CTR}.scope`],
    [12, '/maxpro-test/slow'],
  ]);
  let resolves = 0;
  const resolver: CgroupResolver = {
    root: '/sys/fs/cgroup', idOf: () => undefined, stats: () => ({ entries: paths.size, hits: 0, misses: 0, rescans: 0, overflow: 0 }),
    resolve: (id) => { resolves++; return paths.get(id); },
  };
  const agg = (cgroupId: bigint, opens: number): TcpAggregate => {
    const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((c) => [c, 0])) as TcpAggregate['counters'];
    counters.opens = opens;
    return { cgroupId, dir: 'client', portClass: 1, counters, handshake: createLogLinearHistogram(), rtt: createLogLinearHistogram(), lifetime: createLogLinearHistogram() };
  };
  const probe: TcpMetricsOptions['probe'] = {
    portClassNames: ['other', 'postgres'], aggregates: () => [],
    globals: () => Object.fromEntries(TCP_GLOBAL_COUNTERS.map((c) => [c, 0])) as ReturnType<TcpMetricsOptions['probe']['globals']>,
    dropReasons: () => [], resetReasons: () => [],
    stats: () => ({
      records: 0, undecodable: 0, handlerErrors: 0, readerDrops: 0, kernelDrops: { ringbuf_full: 0n, output_failed: 0n, helper_failed: 0n, map_full: 0n, bpf_recursion: 0n },
      reader: { records: 0, batches: 0, bytes: 0, queueDrops: 0, oversizeDrops: 0, callbackErrors: 0 },
    }),
  };

  test('labels from the enrichment, the configured cap with its overflow series, identities cached per cgroup id', () => {
    const { config } = parseConfigText('probes:\n  tcp:\n    metrics:\n      maxSeries: 2\nworkloads:\n  - cgroup: /maxpro-test\n    namespace: test\n', 'agent.yaml');
    const labeler = createWorkloadLabeler({ workloads: config.workloads, cgroups: resolver });
    const aggs = [agg(10n, 5), agg(11n, 7), agg(12n, 3), agg(13n, 1)];
    // As tcp-source.ts wires it: the configured labels and cap, the labeler's identity, the aggregates source.
    const m = createTcpMetrics({
      probe, labels: config.probes.tcp.metrics.labels, maxSeries: config.probes.tcp.metrics.maxSeries,
      identify: (id) => labeler.identity(Number(id)), aggregates: () => aggs,
    });
    const opened = (): string[] => renderExposition(m.collect(), 'prometheus').split('\n').filter((l) => l.startsWith('maxpro_tcp_connections_opened_total'));
    assert.deepEqual(opened(), [
      'maxpro_tcp_connections_opened_total{direction="client",cgroup="/system.slice/postgres.service",container="/system.slice/postgres.service",pod="",namespace="",port_class="postgres",maxpro_overflow=""} 5',
      `maxpro_tcp_connections_opened_total{direction="client",cgroup="${paths.get(11)}",container="${CTR.slice(0, 12)}",pod="${POD}",namespace="",port_class="postgres",maxpro_overflow=""} 7`,
      'maxpro_tcp_connections_opened_total{direction="client",cgroup="",container="",pod="",namespace="",port_class="",maxpro_overflow="true"} 4',
    ]);
    const text = renderExposition(m.collect(), 'prometheus');
    assert.match(text, /^maxpro_tcp_overflow_aggregates 2$/m);
    // Resolved ids are looked up once; the unresolved one (13) again on each scrape, as the resolver rescans.
    const before = resolves;
    m.collect();
    assert.equal(resolves - before, 1);
    // A config without the cgroup label and a larger cap: the test cgroup gets its workloads namespace.
    const wide = createTcpMetrics({ probe, labels: ['namespace'], maxSeries: 10, identify: (id) => labeler.identity(Number(id)), aggregates: () => aggs });
    assert.match(renderExposition(wide.collect(), 'prometheus'), /^maxpro_tcp_connections_opened_total\{direction="client",namespace="test",maxpro_overflow=""\} 3$/m);
  });
});
