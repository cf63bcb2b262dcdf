// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP probe against real traffic: every scenario runs its traffic in a
 * cgroup of its own and checks that cgroup's in-kernel aggregates (exact
 * counts) and the records the policy asked for.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { kernelSkip, sleep } from '../../helpers/kernel.js';
import { createTcpProbe } from '../../../src/probes/tcp/tcp-probe.js';
import type { TcpPolicy, TcpProbe } from '../../../src/probes/tcp/tcp-probe.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import type { TcpConnEvent, TcpEvent, TcpSignalEvent } from '../../../src/probes/tcp/tcp-event.js';
import { HIST_MAX_RELATIVE_ERROR, createLogLinearHistogram, mergeInto, quantile } from '../../../src/lib/histogram/index.js';
import { compileC, createNetnsPair, createNftTable, createTestCgroup, freePort } from './tcp-fixtures.js';
import type { TestCgroup } from './tcp-fixtures.js';

const skip = kernelSkip();

interface Harness {
  probe: TcpProbe;
  cg: TestCgroup;
  events: TcpEvent[];
  /** The cgroup's aggregate of one direction, port classes merged. */
  agg(dir: 'client' | 'server'): TcpAggregate;
  /** Waits for the reader to deliver what the kernel produced so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

function harness(policy: TcpPolicy): Harness {
  const cg = createTestCgroup();
  const events: TcpEvent[] = [];
  let probe: TcpProbe;
  try {
    probe = createTcpProbe({ policy, intervalMs: 10, onEvent: (e) => { events.push(e); } });
  } catch (err) {
    cg.remove();
    throw err;
  }
  return {
    probe, cg, events,
    agg(dir) {
      const mine = probe.aggregates().filter((a) => a.cgroupId === cg.id && a.dir === dir);
      const out: TcpAggregate = {
        cgroupId: cg.id, dir, portClass: 0,
        counters: Object.fromEntries(Object.keys(mine[0]?.counters ?? probe.aggregates()[0]?.counters ?? {}).map((k) => [k, 0])) as TcpAggregate['counters'],
        handshake: createLogLinearHistogram(), rtt: createLogLinearHistogram(), lifetime: createLogLinearHistogram(),
      };
      for (const a of mine) {
        for (const [k, v] of Object.entries(a.counters)) (out.counters as Record<string, number>)[k] = ((out.counters as Record<string, number>)[k] ?? 0) + v;
        mergeInto(out.handshake, a.handshake);
        mergeInto(out.rtt, a.rtt);
        mergeInto(out.lifetime, a.lifetime);
      }
      return out;
    },
    async settle() {
      await sleep(100);
      probe.flush();
      await sleep(50);
    },
    async close() {
      await probe.close();
      cg.remove();
    },
  };
}

const connEvents = (h: Harness, type: TcpConnEvent['type']): TcpConnEvent[] =>
  h.events.filter((e): e is TcpConnEvent => e.type === type && e.cgroupId === h.cg.id);

describe('tcp probe', { skip }, () => {
  for (const { family, host } of [{ family: 4, host: '127.0.0.1' }, { family: 6, host: '::1' }]) {
    test(`loopback IPv${family}: N connections give exactly N in every histogram`, async () => {
      const h = harness({});
      try {
        const N = 40;
        const t = h.cg.traffic(['loopback', host, String(N)]);
        assert.equal(await t.exited(), 0, t.output());
        await h.settle();
        const client = h.agg('client');
        const server = h.agg('server');
        assert.equal(client.counters.opens, N);
        assert.equal(client.handshake.count, N);
        assert.equal(client.counters.closes, N);
        assert.equal(client.lifetime.count, N);
        assert.equal(client.rtt.count, N);
        assert.equal(client.counters.connectFailed, 0);
        assert.equal(server.counters.opens, N);
        assert.equal(server.handshake.count, N);
        assert.equal(server.counters.closes, N);
        assert.equal(server.lifetime.count, N);
        // Loopback handshakes take microseconds, not milliseconds.
        const p50 = quantile(client.handshake, 0.5);
        assert.ok(p50 > 1_000 && p50 < 50_000_000, `p50 ${p50} ns`);
        // The default policy sends no per-connection records for healthy connections.
        assert.equal(h.events.filter((e) => e.cgroupId === h.cg.id).length, 0);
        assert.equal(h.probe.globals().connTableFull, 0);
      } finally {
        await h.close();
      }
    });
  }

  test('a local abort (SO_LINGER 0): lifetime, RTT and bytes of the connection at its close', async () => {
    // tcp_disconnect() moves the socket to CLOSE before it sends the RST and clears the RTT;
    // tcp_mstamp is as old as the last ACK there, so a lifetime taken from it would be near 0.
    const N = 5, HOLD_MS = 120, BYTES = 3000;
    const h = harness({ minLifetimeMs: HOLD_MS / 2 });
    try {
      const t = h.cg.traffic(['abort', '127.0.0.1', String(N), String(BYTES), String(HOLD_MS)]);
      assert.equal(await t.exited(), 0, t.output());
      await h.settle();
      const client = h.agg('client');
      assert.equal(client.counters.closes, N);
      assert.equal(client.lifetime.count, N);
      assert.equal(client.rtt.count, N);
      // bytes_acked counts acknowledged sequence space, which includes the SYN.
      assert.equal(client.counters.bytesAcked, N * (BYTES + 1));
      const p50 = quantile(client.lifetime, 0.5);
      assert.ok(p50 >= HOLD_MS * 1e6 * (1 - HIST_MAX_RELATIVE_ERROR) && p50 < (HOLD_MS + 100) * 1e6, `lifetime p50 ${p50} ns`);
      assert.equal(h.agg('server').counters.resetsReceived, N);
      const closes = connEvents(h, 'close').filter((e) => e.dir === 'client');
      assert.equal(closes.length, N);
      for (const c of closes) {
        assert.ok(c.lifetimeNs >= HOLD_MS * 1e6, `lifetime ${c.lifetimeNs} ns`);
        assert.equal(c.err, 0);
        assert.equal(c.oldState, 'ESTABLISHED');
        assert.equal(c.bytesAcked, BYTES + 1);
        assert.ok(c.srttUs > 0 && c.segsOut > 0);
        assert.equal(c.tgid, t.child.pid);
      }
    } finally {
      await h.close();
    }
  });

  test('stream mode: connect, accept and close records carry the tuple, pid and cgroup', async () => {
    const h = harness({ stream: true });
    try {
      const t = h.cg.traffic(['loopback', '::1', '3']);
      assert.equal(await t.exited(), 0, t.output());
      await h.settle();
      const connects = connEvents(h, 'connect');
      const accepts = connEvents(h, 'accept');
      const closes = connEvents(h, 'close');
      assert.equal(connects.length, 3);
      assert.equal(accepts.length, 3);
      assert.equal(closes.length, 6);
      const pid = t.child.pid!;
      for (const c of connects) {
        assert.equal(c.family, 6);
        assert.equal(c.saddr, '::1');
        assert.equal(c.daddr, '::1');
        assert.equal(c.tgid, pid);
        assert.equal(c.comm, 'node');
        assert.ok(c.handshakeNs > 0);
      }
      for (const a of accepts) {
        assert.equal(a.dir, 'server');
        assert.equal(a.tgid, pid, 'accepted sockets name the listening process');
        assert.equal(a.sport, connects[0]!.dport);
      }
      for (const c of closes) {
        assert.ok(c.lifetimeNs > 0);
        assert.ok(c.sport > 0 && c.dport > 0);
        assert.ok(c.segsOut > 0 && c.srttUs > 0);
      }
    } finally {
      await h.close();
    }
  });

  // The cgroup filter drops records in the kernel; aggregates still count every connection.
  for (const { mode, passes } of [
    { mode: 'deny' as const, passes: false },
    { mode: 'allow' as const, passes: true },
  ]) {
    test(`cgroup ${mode} list: records ${passes ? 'pass' : 'are filtered in the kernel'}, aggregates stay complete`, async () => {
      const h = harness({ stream: true });
      try {
        const before = h.probe.cgroupFilter.filtered();
        // allow: only this cgroup; deny: only this cgroup is filtered. knownMaxId covers it.
        h.probe.cgroupFilter.set({ mode, ids: [Number(h.cg.id)], knownMaxId: Number(h.cg.id) });
        const t = h.cg.traffic(['loopback', '127.0.0.1', '4']);
        assert.equal(await t.exited(), 0, t.output());
        await h.settle();
        const mine = h.events.filter((e) => 'cgroupId' in e && e.cgroupId === h.cg.id);
        const after = h.probe.cgroupFilter.filtered();
        const filtered = Object.values(after).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
        if (passes) {
          assert.equal(connEvents(h, 'connect').length, 4);
          assert.equal(connEvents(h, 'close').length, 8);
        } else {
          assert.equal(mine.length, 0, 'no record of the denied cgroup reached user space');
          assert.ok(filtered >= 4 + 4 + 8, `kernel counted ${filtered} filtered records`);
        }
        assert.equal(h.agg('client').handshake.count, 4);
        assert.equal(h.agg('server').handshake.count, 4);
        assert.equal(h.agg('client').lifetime.count + h.agg('server').lifetime.count, 8);
      } finally {
        h.probe.cgroupFilter.set({ mode: 'off', ids: [] });
        await h.close();
      }
    });
  }

  test('a connect to a closed port is a reset and a failed connect', async () => {
    const h = harness({ stream: true });
    try {
      const port = freePort();
      const t = h.cg.traffic(['connect-fail', '127.0.0.1', String(port)]);
      assert.equal(await t.exited(), 0, t.output());
      await h.settle();
      const client = h.agg('client');
      assert.equal(client.counters.connectFailed, 1);
      assert.equal(client.counters.resetsReceived, 1);
      assert.equal(client.counters.opens, 0);
      const failed = connEvents(h, 'connectFailed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.err, -111, 'ECONNREFUSED');
      assert.equal(failed[0]!.dport, port);
      assert.equal(failed[0]!.tgid, t.child.pid);
      // Time to fail, from the SYN's stamp (ms resolution): a loopback refusal is immediate.
      assert.ok(failed[0]!.lifetimeNs >= 0 && failed[0]!.lifetimeNs < 100e6, `time to fail ${failed[0]!.lifetimeNs} ns`);
      // The RST came from no socket; the received RST hit the client's socket.
      const sent = h.events.filter((e): e is TcpSignalEvent => e.type === 'resetSent' && e.dport !== 0 && e.sport === port);
      assert.equal(sent.length, 1);
      const rcvd = h.events.filter((e): e is TcpSignalEvent => e.type === 'resetReceived' && e.cgroupId === h.cg.id);
      assert.equal(rcvd.length, 1);
      assert.ok(h.probe.resetReasons().some((r) => r.name === 'no_socket' && r.count >= 1));
      assert.ok(h.probe.globals().resetsSentNoSocket >= 1);
    } finally {
      await h.close();
    }
  });

  // With a record-asking policy the client is tracked from connect(); without one, tracking starts
  // at ESTABLISHED and a retransmitted SYN is timed from the first SYN's stamp (retrans_stamp).
  for (const { name, policy, records } of [
    { name: 'tracked from connect()', policy: { minHandshakeMs: 500 }, records: true },
    { name: 'no policy: timed from the first SYN', policy: {}, records: false },
  ]) {
    test(`a dropped first SYN-ACK gives a connect latency of one SYN timeout, within the bucket error (${name})`, async () => {
      const h = harness(policy);
      const port = freePort();
      const server = h.cg.traffic(['serve', '127.0.0.1', String(port), '1']);
      let nft: ReturnType<typeof createNftTable> | undefined;
      try {
        await server.waitFor('listening');
        // Drop every SYN-ACK from the port until the rule goes: the client's
        // SYN timer (1 s initially) retransmits the SYN, and that one succeeds.
        nft = createNftTable([`tcp sport ${port} tcp flags & (syn | ack) == syn | ack drop`]);
        const t0 = process.hrtime.bigint();
        const client = h.cg.traffic(['connect', '127.0.0.1', String(port), '1']);
        await sleep(400);
        nft.remove();
        assert.equal(await client.exited(), 0, client.output());
        const wallNs = Number(process.hrtime.bigint() - t0);
        assert.equal(await server.exited(), 0, server.output());
        await h.settle();
        const agg = h.agg('client');
        assert.equal(agg.handshake.count, 1);
        assert.equal(agg.counters.synRetransmits, 1);
        const est = quantile(agg.handshake, 0.99);
        if (records) {
          const [ev] = connEvents(h, 'connect');
          assert.ok(ev, 'the policy threshold sends a connect record');
          assert.ok(ev.handshakeNs >= 0.95e9 && ev.handshakeNs < 1.5e9, `handshake ${ev.handshakeNs} ns`);
          assert.ok(Math.abs(est - ev.handshakeNs) / ev.handshakeNs <= HIST_MAX_RELATIVE_ERROR, `p99 ${est} vs ${ev.handshakeNs}`);
          // The slow connect's close record comes too (flagged at open).
          assert.equal(connEvents(h, 'close').filter((c) => c.dir === 'client').length, 1);
        } else {
          assert.equal(connEvents(h, 'connect').length, 0, 'no policy, no records');
          // One SYN timeout (1 s), and less than the client process's whole life.
          assert.ok(est >= 0.95e9 * (1 - HIST_MAX_RELATIVE_ERROR) && est <= wallNs * (1 + HIST_MAX_RELATIVE_ERROR), `p99 ${est} ns, client ran ${wallNs} ns`);
        }
      } finally {
        nft?.remove();
        await h.close();
      }
    });
  }

  test('dropped data segments are retransmitted and counted', async () => {
    const h = harness({ retransmits: true });
    const port = freePort();
    const server = h.cg.traffic(['serve', '127.0.0.1', String(port), '1']);
    let nft: ReturnType<typeof createNftTable> | undefined;
    try {
      await server.waitFor('listening');
      const client = h.cg.traffic(['send', '127.0.0.1', String(port), '2000', '300']);
      await client.waitFor('connected');
      nft = createNftTable([`tcp dport ${port} drop`], 'input');
      await sleep(1200);
      nft.remove();
      assert.equal(await client.exited(), 0, client.output());
      assert.equal(await server.exited(), 0, server.output());
      await h.settle();
      const agg = h.agg('client');
      assert.ok(agg.counters.retransmits >= 1, `retransmits ${agg.counters.retransmits}`);
      const closes = connEvents(h, 'close').filter((c) => c.dir === 'client');
      assert.equal(closes.length, 1, 'the retransmit policy sends the close record');
      assert.ok(closes[0]!.totalRetrans >= 1);
      assert.ok(closes[0]!.totalRetrans <= agg.counters.retransmits);
      assert.ok(h.probe.globals().retransmits >= agg.counters.retransmits);
    } finally {
      nft?.remove();
      await h.close();
    }
  });

  test('a listener that never accepts, with backlog 1, shows SYN and listen drops', async () => {
    const h = harness({});
    const port = freePort();
    const holdPort = freePort();
    const bin = compileC('listen-noaccept', LISTEN_NOACCEPT);
    const listener = h.cg.exec([bin, String(port), '1', '15']);
    let nft: ReturnType<typeof createNftTable> | undefined;
    const clients: ReturnType<TestCgroup['traffic']>[] = [];
    try {
      await listener.waitFor('ready');
      // One handshake is left half done: its final ACK is dropped, so the
      // listener keeps a request socket while two others fill the accept queue.
      nft = createNftTable([`tcp sport ${holdPort} tcp dport ${port} tcp flags & (syn | ack | fin | rst) == ack drop`]);
      const held = h.cg.traffic(['hold', '127.0.0.1', String(port), String(holdPort)]);
      clients.push(held);
      await held.waitFor('connected');
      for (let i = 0; i < 4; i++) clients.push(h.cg.traffic(['hold', '127.0.0.1', String(port), String(freePort())]));
      await sleep(300);
      nft.remove();
      // The listener retransmits the SYN-ACK of the held handshake (~1 s);
      // its ACK then finds the accept queue full. The SYNs of the clients
      // beyond the queue are retransmitted by the clients.
      await sleep(2500);
      await h.settle();
      const server = h.agg('server');
      const client = h.agg('client');
      assert.ok(client.counters.synRetransmits >= 1, `client SYN retransmits ${client.counters.synRetransmits}`);
      assert.ok(server.counters.synackRetransmits >= 1, `SYN-ACK retransmits ${server.counters.synackRetransmits}`);
      const overflow = h.probe.dropReasons().find((d) => d.name === 'tcp_listen_overflow');
      assert.ok(overflow && overflow.count >= 1, `drop reasons ${JSON.stringify(h.probe.dropReasons())}`);
      assert.ok(server.counters.listenOverflows >= 1 && server.counters.drops >= 1, JSON.stringify(server.counters));
    } finally {
      nft?.remove();
      for (const c of clients) c.child.stdin?.end();
      listener.child.kill('SIGKILL');
      rmSync(dirname(bin), { recursive: true, force: true });
      await h.close();
    }
  });

  test('across a veth pair into a network namespace', async () => {
    const h = harness({ stream: true });
    let pair: ReturnType<typeof createNetnsPair> | undefined;
    try {
      pair = createNetnsPair();
      const N = 20;
      const port = 18000 + (process.pid % 1000);
      const server = h.cg.traffic(['serve', pair.nsAddress, String(port), String(N)], pair.netns);
      await server.waitFor('listening');
      const client = h.cg.traffic(['connect', pair.nsAddress, String(port), String(N)]);
      assert.equal(await client.exited(), 0, client.output());
      assert.equal(await server.exited(), 0, server.output());
      await h.settle();
      assert.equal(h.agg('client').counters.opens, N);
      assert.equal(h.agg('client').handshake.count, N);
      assert.equal(h.agg('server').counters.opens, N);
      assert.equal(h.agg('server').counters.closes, N);
      const connects = connEvents(h, 'connect');
      const accepts = connEvents(h, 'accept');
      assert.equal(connects.length, N);
      assert.equal(accepts.length, N);
      assert.equal(connects[0]!.saddr, pair.hostAddress);
      assert.equal(accepts[0]!.saddr, pair.nsAddress);
      assert.notEqual(connects[0]!.netns, accepts[0]!.netns, 'client and server sockets live in different namespaces');
    } finally {
      pair?.remove();
      await h.close();
    }
  });

  test('the policy can be changed live and close() is idempotent', async () => {
    const h = harness({});
    try {
      let t = h.cg.traffic(['loopback', '127.0.0.1', '2']);
      assert.equal(await t.exited(), 0);
      await h.settle();
      assert.equal(h.events.filter((e) => e.cgroupId === h.cg.id).length, 0);
      h.probe.setPolicy({ stream: true });
      t = h.cg.traffic(['loopback', '127.0.0.1', '2']);
      assert.equal(await t.exited(), 0);
      await h.settle();
      assert.equal(connEvents(h, 'connect').length, 2);
      assert.equal(h.agg('client').counters.opens, 4);
      assert.throws(() => h.probe.setPolicy({ minHandshakeMs: -1 }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
      await h.probe.close();
      await h.probe.close();
    } finally {
      await h.close();
    }
  });
});

const LISTEN_NOACCEPT = `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
/* listen-noaccept <port> <backlog> <seconds>: listens on 127.0.0.1 and never accepts. */
int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (void *)&a, sizeof(a)) || listen(fd, atoi(argv[2]))) { perror("listen"); return 1; }
  printf("ready\\n");
  fflush(stdout);
  sleep(atoi(argv[3]));
  return 0;
}
`;
