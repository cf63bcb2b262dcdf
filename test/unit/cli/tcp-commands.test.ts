// SPDX-License-Identifier: Apache-2.0
// `trace tcp` filters and kernel policy choice; `top tcp` interval arithmetic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesTcpFilters, policyFor } from '../../../src/probes/tcp/cli/trace-tcp.js';
import { intervalByWorkload, topRows, topTcpBaseline } from '../../../src/probes/tcp/cli/top-tcp.js';
import type { TcpConnEvent } from '../../../src/probes/tcp/tcp-event.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import { TCP_AGG_COUNTERS } from '../../../src/probes/tcp/tcp-aggregates.js';
import { createLogLinearHistogram, recordValue } from '../../../src/lib/histogram/index.js';

const who = { container: 'abcdef123456', pod: 'web-1', namespace: 'prod', cgroupPath: '/x' };
const conn: TcpConnEvent = {
  type: 'connect', bootNs: 1n, cgroupId: 7n, handshakeNs: 150e6, lifetimeNs: 0, bytesAcked: 0, bytesReceived: 0, tgid: 42, pid: 42,
  segsOut: 1, segsIn: 1, srttUs: 10, rttvarUs: 5, totalRetrans: 0, err: 0, netns: 1, family: 4, saddr: '10.0.0.1', sport: 40000,
  daddr: '10.0.0.2', dport: 5432, dir: 'client', oldState: 'SYN_SENT', comm: 'psql',
};

describe('trace tcp', () => {
  test('filters', () => {
    assert.ok(matchesTcpFilters(conn, who, { failed: false }));
    assert.ok(matchesTcpFilters(conn, who, { failed: false, comm: 'psql', pid: 42, port: 5432, container: 'abc', pod: 'web-1', namespace: 'prod' }));
    assert.ok(!matchesTcpFilters(conn, who, { failed: true }));
    assert.ok(matchesTcpFilters({ ...conn, type: 'connectFailed', err: -111 }, who, { failed: true }));
    assert.ok(matchesTcpFilters(conn, who, { failed: false, minLatencyNs: 100e6 }));
    assert.ok(!matchesTcpFilters(conn, who, { failed: false, minLatencyNs: 200e6 }));
    assert.ok(!matchesTcpFilters(conn, who, { failed: false, port: 80 }));
    assert.ok(!matchesTcpFilters(conn, who, { failed: false, namespace: 'dev' }));
    assert.ok(!matchesTcpFilters(conn, who, { failed: false, container: 'fff' }));
  });

  test('a pod the agent names still matches --pod by its UID', () => {
    assert.ok(matchesTcpFilters(conn, who, { failed: false, pod: 'uid-of-web-1' }, 'uid-of-web-1'));
    assert.ok(matchesTcpFilters(conn, who, { failed: false, pod: 'web-1' }, 'uid-of-web-1'));
    assert.ok(!matchesTcpFilters(conn, who, { failed: false, pod: 'uid-of-web-2' }, 'uid-of-web-1'));
  });

  test('narrow filters do not need the full stream', () => {
    assert.deepEqual(policyFor({ failed: true }), { failedConnects: true });
    assert.deepEqual(policyFor({ failed: false, minLatencyNs: 100e6 }), { minHandshakeMs: 100, failedConnects: false });
    assert.deepEqual(policyFor({ failed: false, port: 80 }), { stream: true });
  });
});

function agg(cgroupId: bigint, dir: 'client' | 'server', opens: number, latencies: number[]): TcpAggregate {
  const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((c) => [c, 0])) as TcpAggregate['counters'];
  counters.opens = opens;
  const handshake = createLogLinearHistogram();
  for (const l of latencies) recordValue(handshake, l);
  return { cgroupId, dir, portClass: 0, counters, handshake, rtt: createLogLinearHistogram(), lifetime: createLogLinearHistogram() };
}

describe('top tcp', () => {
  test('rates and p99 come from the difference between two snapshots', () => {
    const id = (c: bigint): typeof who => (c === 1n ? who : { container: '', pod: '', namespace: '', cgroupPath: '/system.slice/x' });
    const prev = topTcpBaseline([agg(1n, 'client', 10, Array(10).fill(1e6))]);
    const cur = [agg(1n, 'client', 30, [...Array(10).fill(1e6), ...Array(20).fill(50e6)]), agg(2n, 'server', 4, [])];
    const rows = topRows(intervalByWorkload(prev, cur, id), 2);
    const web = rows.find((r) => r.workload === 'prod/web-1')!;
    assert.equal(web.conns_per_sec, 10);
    assert.ok(Math.abs(web.connect_p99_ms - 50) / 50 < 0.07, `p99 ${web.connect_p99_ms}`);
    const sys = rows.find((r) => r.workload === '/system.slice/x')!;
    assert.equal(sys.accepts_per_sec, 2);
    assert.equal(sys.connect_p99_ms, 0);
  });

  test('a cgroup renamed between readings (pod metadata arrived) counts only its interval', () => {
    const prev = topTcpBaseline([agg(1n, 'client', 1000, Array(1000).fill(1e6))]);
    const cur = [agg(1n, 'client', 1010, [...Array(1000).fill(1e6), ...Array(10).fill(3e6)])];
    // The baseline holds aggregates, not names: whatever the workload was called at the last reading,
    // the row is the 10 new connections, not 1010.
    const rows = topRows(intervalByWorkload(prev, cur, () => who), 1);
    assert.deepEqual(rows.map((r) => [r.workload, r.conns]), [['prod/web-1', 10]]);
    assert.ok(Math.abs(rows[0]!.connect_p99_ms - 3) / 3 < 0.07, `p99 ${rows[0]!.connect_p99_ms}`);
  });

  test('an aggregate that went backwards (a restarted probe) counts from zero', () => {
    const prev = topTcpBaseline([agg(1n, 'client', 500, Array(500).fill(1e6))]);
    const rows = topRows(intervalByWorkload(prev, [agg(1n, 'client', 7, Array(7).fill(1e6))], () => who), 1);
    assert.deepEqual(rows.map((r) => r.conns), [7]);
  });
});
