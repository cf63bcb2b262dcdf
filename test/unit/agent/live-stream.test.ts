// SPDX-License-Identifier: Apache-2.0
// The live stream: server-side filters, the subscriber's view (every event, or what the policy keeps),
// the TCP demand that widens the kernel policy while subscribers are attached, per-subscriber drops
// reported in status lines, and the client's status handling.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLiveStream, eventToJson } from '../../../src/agent/http/live-stream.js';
import type { LiveStreamStatus } from '../../../src/agent/http/live-stream.js';
import { matchesStreamFilter, parseStreamFilter, streamDemandsOf, streamFilterParams, wantsProbeRecords } from '../../../src/agent/http/stream-filter.js';
import { mergeTcpDemands } from '../../../src/probes/tcp/tcp-demand.js';
import type { StreamFilter } from '../../../src/agent/http/stream-filter.js';
import { openLiveStream } from '../../../src/agent/http/live-stream-client.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';
import { toTcpPolicy } from '../../../src/probes/tcp/tcp-source.js';

const tcpDemandOf = (f: StreamFilter): unknown => streamDemandsOf(f).get('tcp');
import type { AgentEvent } from '../../../src/agent/agent-event.js';

const exec: AgentEvent = {
  probe: 'process', name: 'process.exec', timeMs: 0, pid: 10, tgid: 10, comm: 'curl', exe: '/usr/bin/curl', cgroupId: 5,
  fields: { 'process.args.count': 2 },
  attributes: () => ({ 'process.pid': 10, 'process.parent_pid': 7, 'process.executable.path': '/usr/bin/curl', 'process.exec.retval': -2 }),
  commandArgs: () => ['curl', 'a b'],
  workload: { labels: { app: 'web' }, attributes: { container: 'abcdef0123', pod: 'uid-1', namespace: 'prod', comm: 'curl', exe: '/usr/bin/curl' } },
};
const connect: AgentEvent = {
  probe: 'tcp', name: 'tcp.connect', timeMs: 0, pid: 20, tgid: 20, comm: 'psql', cgroupId: 6,
  fields: { 'tcp.connect.latency': 150e6, 'tcp.connect.failed': 0 },
  attributes: () => ({ 'source.port': 40000, 'destination.port': 5432 }),
  workload: { labels: {}, attributes: {} },
};

const q = (s: string): StreamFilter => parseStreamFilter(new URLSearchParams(s));

describe('stream filters', () => {
  test('parse, print back, and refuse what they do not know', () => {
    const f = q('probe=tcp&port=5432&min_latency_ms=100&failed&pid=7&kept=false');
    assert.deepEqual(f, { probe: 'tcp', port: 5432, minLatencyNs: 100e6, failed: true, pid: 7, kept: false });
    assert.deepEqual(parseStreamFilter(streamFilterParams(f)), { probe: 'tcp', port: 5432, minLatencyNs: 100e6, failed: true, pid: 7 });
    assert.throws(() => q('probe=disk'), /probe=disk/);
    assert.throws(() => q('port=70000'), /port=70000/);
    assert.throws(() => q('min_latency=5'), /min_latency: unknown/);
    assert.throws(() => q('failed=maybe'), /failed=maybe/);
  });

  test('match on name, workload, comm or executable, pid or parent, failure, port and latency', () => {
    assert.ok(matchesStreamFilter(exec, q('probe=process&name=process.exec&container=abc&pod=uid-1&namespace=prod')));
    assert.ok(matchesStreamFilter(exec, q('comm=curl')));
    assert.ok(matchesStreamFilter({ ...exec, comm: 'sh' }, q('comm=curl')), 'the executable name counts for execs');
    assert.ok(matchesStreamFilter(exec, q('pid=7')), 'the parent counts for execs');
    assert.ok(matchesStreamFilter(exec, q('failed')));
    assert.ok(!matchesStreamFilter(exec, q('probe=tcp')));
    assert.ok(!matchesStreamFilter(exec, q('namespace=dev')));
    assert.ok(!matchesStreamFilter(exec, q('port=80')));
    assert.ok(matchesStreamFilter(connect, q('port=5432&min_latency_ms=100')));
    assert.ok(!matchesStreamFilter(connect, q('min_latency_ms=200')));
    assert.ok(!matchesStreamFilter(connect, q('failed=true')));
    assert.ok(matchesStreamFilter({ ...connect, name: 'tcp.connect_failed', fields: { 'tcp.connect.failed': 1 } }, q('failed=true')));
  });

  test('TCP demand: what a subscriber needs from the kernel, merged over subscribers', () => {
    assert.deepEqual(tcpDemandOf(q('probe=tcp')), { stream: true });
    assert.deepEqual(tcpDemandOf(q('probe=tcp&failed')), { failed: true });
    assert.deepEqual(tcpDemandOf(q('probe=tcp&min_latency_ms=100')), { minHandshakeNs: 100e6 });
    assert.deepEqual(tcpDemandOf(q('')), { stream: true }, 'no probe filter: TCP included');
    assert.equal(tcpDemandOf(q('probe=process')), undefined);
    assert.equal(tcpDemandOf(q('name=process.exec')), undefined);
    assert.equal(tcpDemandOf(q('probe=tcp&kept=true')), undefined, 'the exported view needs nothing beyond the policy');
    assert.deepEqual(mergeTcpDemands([{ failed: true }, { minHandshakeNs: 5 }, { minHandshakeNs: 3 }]), { failed: true, minHandshakeNs: 3 });
    assert.equal(mergeTcpDemands([]), undefined);
  });

  test('which probes a subscriber wants beyond the exported view (their cgroup filters are suspended)', () => {
    assert.ok(wantsProbeRecords(q(''), 'process') && wantsProbeRecords(q(''), 'tcp'), 'no probe filter: every probe');
    assert.ok(wantsProbeRecords(q('probe=process&comm=x'), 'process'));
    assert.ok(!wantsProbeRecords(q('probe=process'), 'tcp'));
    assert.ok(!wantsProbeRecords(q('name=tcp.'), 'process'));
    assert.ok(wantsProbeRecords(q('name=proc'), 'process'), 'a name prefix shorter than the probe');
    assert.ok(!wantsProbeRecords(q('probe=process&kept=true'), 'process'), 'the exported view passes every cgroup filter');
  });

  test('the kernel policy is the planner\'s widened by the demand', () => {
    const plan = { minHandshakeNs: 200e6, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: true, retransmits: false };
    assert.equal(toTcpPolicy(plan).stream, false);
    assert.equal(toTcpPolicy(plan, { stream: true }).stream, true);
    assert.equal(toTcpPolicy(plan, { minHandshakeNs: 50e6 }).minHandshakeMs, 50);
    assert.equal(toTcpPolicy({ ...plan, minHandshakeNs: 0 }, { minHandshakeNs: 50e6 }).minHandshakeMs, 50, '0 is off, not lowest');
    assert.equal(toTcpPolicy(plan, { minHandshakeNs: 500e6 }).minHandshakeMs, 200);
    assert.equal(toTcpPolicy({ ...plan, failed: false }, { failed: true }).failedConnects, true);
    assert.deepEqual(toTcpPolicy(plan, undefined), toTcpPolicy(plan));
  });

  test('the JSON line carries argv and never the raw executable path of the workload', () => {
    const line = JSON.parse(eventToJson(exec, (s) => s.toUpperCase())) as Record<string, unknown>;
    assert.deepEqual(line.args, ['curl', 'a b']);
    assert.equal(line.comm, 'CURL', 'comm goes through the redactor');
    assert.deepEqual(line.workload, { container: 'abcdef0123', pod: 'uid-1', namespace: 'prod' });
  });
});

async function serve(stream: ReturnType<typeof createLiveStream>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => stream.attach(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { stream.close(); server.closeAllConnections(); server.close(() => r()); }),
  };
}

const until = async (fn: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('live stream over HTTP', () => {
  test('every event by default, only kept ones with kept=true; demand follows the subscribers', async () => {
    let changes = 0;
    const stream = createLiveStream({ onDemandChange: () => { changes++; }, probeLost: () => ({ tcp: 3 }), probeLoaded: (p) => p === 'tcp' });
    const srv = await serve(stream);
    try {
      const all: LiveStreamEvent[] = [], kept: LiveStreamEvent[] = [];
      const statuses: LiveStreamStatus[] = [];
      const a = await openLiveStream({ url: srv.url, filter: { probe: 'tcp' }, onEvent: (e) => all.push(e), onStatus: (s) => statuses.push(s) });
      assert.equal(changes, 1);
      assert.deepEqual(stream.demand('tcp'), { stream: true });
      const k = await openLiveStream({ url: srv.url, filter: { probe: 'tcp', kept: true }, onEvent: (e) => kept.push(e) });
      assert.equal(changes, 1, 'a kept-only subscriber needs nothing from the kernel');
      await until(() => stream.clients() === 2);
      stream.publish(connect, false);
      stream.publish({ ...connect, name: 'tcp.close' }, true);
      stream.publish(exec, true);
      await until(() => all.length === 2 && kept.length === 1);
      assert.deepEqual(all.map((e) => e.name), ['tcp.connect', 'tcp.close']);
      assert.deepEqual(kept.map((e) => e.name), ['tcp.close']);
      assert.deepEqual(statuses[0], { sent: 0, dropped: 0, probeLost: { tcp: 3 } }, 'a status line on attach');
      a.close();
      assert.equal((await a.done).by, 'client');
      await until(() => changes === 2);
      assert.equal(stream.demand('tcp'), undefined, 'the last TCP subscriber left');
      k.close();
      await k.done;
      // A probe the agent does not run is refused, naming it.
      await assert.rejects(openLiveStream({ url: srv.url, filter: { probe: 'process' }, onEvent: () => undefined }), /HTTP 409 probe process is not running/);
    } finally {
      await srv.close();
    }
  });

  test('a new subscriber\'s response waits until the agent has widened the kernel for it', async () => {
    let release = (): void => undefined;
    let calls = 0;
    const stream = createLiveStream({
      onDemandChange: () => {
        calls++;
        return new Promise<void>((r) => { release = r; });
      },
    });
    const srv = await serve(stream);
    try {
      let attached = false;
      const opening = openLiveStream({ url: srv.url, filter: { probe: 'process' }, onEvent: () => undefined, connectTimeoutMs: 5000 }).then((s) => {
        attached = true;
        return s;
      });
      await until(() => calls === 1);
      assert.deepEqual(stream.wantedProbes(), ['process'], 'a waiting subscriber counts already');
      stream.publish(exec, false);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(attached, false, 'no answer before the kernel is widened');
      assert.equal(stream.clients(), 0);
      release();
      const sub = await opening;
      assert.equal(stream.clients(), 1);
      sub.close();
      await sub.done;
      await until(() => calls === 2 && stream.wantedProbes().length === 0);
    } finally {
      await srv.close();
    }
  });

  test('a subscriber that does not read loses events; its status line counts them', async () => {
    const { connect: tcpConnect } = await import('node:net');
    const stream = createLiveStream({ clientBufferBytes: 16 * 1024, statusIntervalMs: 20 });
    const srv = await serve(stream);
    const port = Number(new URL(srv.url).port);
    const sock = tcpConnect(port, '127.0.0.1');
    try {
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write('GET /stream?probe=tcp HTTP/1.1\r\nHost: x\r\n\r\n');
      sock.pause();
      await until(() => stream.clients() === 1);
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        stream.publish(connect, true);
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
      const st = stream.stats();
      assert.ok(st.dropped.slow_client > 0, JSON.stringify(st));
      assert.equal(st.sent + st.queued + st.dropped.slow_client, n);
      assert.ok(st.queued > 0, 'the queue holds the newest events');
      // Read everything: the last status line reports this subscriber's drops, and the queue drains.
      let text = '';
      sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      sock.resume();
      const lastStatus = (): LiveStreamStatus | undefined => {
        const m = [...text.matchAll(/\{"stream":(\{[^\n]*\})\}\n/g)].at(-1);
        return m ? JSON.parse(m[1]!) as LiveStreamStatus : undefined;
      };
      await until(() => lastStatus()?.dropped === st.dropped.slow_client && lastStatus()?.sent === n - st.dropped.slow_client, 5000);
      assert.equal(lastStatus()!.sent, n - st.dropped.slow_client);
      assert.equal(stream.stats().queued, 0);
    } finally {
      sock.destroy();
      await srv.close();
    }
  });

  test('a bad filter is a 400 naming the parameter', async () => {
    const stream = createLiveStream();
    const srv = await serve(stream);
    try {
      const res = await fetch(`${srv.url}/stream?colour=red`);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /colour: unknown/);
    } finally {
      await srv.close();
    }
  });
});
