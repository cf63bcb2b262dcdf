// SPDX-License-Identifier: Apache-2.0
// `top tcp` attached to an agent (no root: nothing is loaded): the agent's HTTP server serves
// /tcp/aggregates from synthetic aggregates that grow between polls, and the command prints the
// same rows it would from a local probe; no TCP probe is a JSON 404 naming why, which an explicit
// --agent reports as an error; an agent that stops answering ends the command with exit 1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createAgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import type { AgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import { createTcpAggregatesRoute } from '../../../src/probes/tcp/tcp-aggregates-route.js';
import type { TcpAggregatesReading } from '../../../src/probes/tcp/tcp-aggregates-route.js';
import { fetchTcpAggregates } from '../../../src/probes/tcp/cli/tcp-aggregates-client.js';
import { createLogLinearHistogram, recordValue } from '../../../src/lib/histogram/index.js';
import { TCP_AGG_COUNTERS } from '../../../src/probes/tcp/tcp-aggregates.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import { topTcpCommand } from '../../../src/probes/tcp/cli/top-tcp.js';
import type { TopTcpRow } from '../../../src/probes/tcp/cli/top-tcp.js';

function sink(): { stream: Writable; text(): string } {
  let text = '';
  return { stream: new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } }), text: () => text };
}

function agg(cgroupId: bigint, dir: 'client' | 'server', opens: number): TcpAggregate {
  const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((c) => [c, 0])) as TcpAggregate['counters'];
  counters.opens = opens;
  const handshake = createLogLinearHistogram();
  if (dir === 'client' && opens > 0) recordValue(handshake, 2e6, opens);
  return { cgroupId, dir, portClass: 0, counters, handshake, rtt: createLogLinearHistogram(), lifetime: createLogLinearHistogram() };
}

describe('top tcp attached to an agent', () => {
  let server: AgentHttpServer;
  let reading: () => TcpAggregatesReading;
  before(async () => {
    server = await createAgentHttpServer({
      listen: '127.0.0.1:0', collect: () => [], notReady: () => undefined, pprof: false, auth: { disabled: true },
      routes: { '/tcp/aggregates': createTcpAggregatesRoute({
        read: () => reading(),
        identity: (id) => (id === 7 ? { container: 'abcdef012345', pod: 'pod-uid-1', namespace: 'prod', cgroupPath: '/kubepods/p/c' }
          : { container: '', pod: '', namespace: '', cgroupPath: `/test/${id}` }),
        maxAggregates: 3,
      }) },
    });
  });
  after(() => server?.close());

  test('rows come from the agent\'s aggregates, deltas per interval, with its workload names', async () => {
    let polls = 0;
    // Each poll: cgroup 7 made 5 more connects, cgroup 8 accepted 2 more.
    reading = () => {
      polls++;
      return { aggregates: [agg(7n, 'client', 5 * polls), agg(8n, 'server', 2 * polls)], lost: 3 };
    };
    const out = sink(), err = sink();
    const code = await topTcpCommand.run(['--agent', server.url, '--json', '--interval', '0.2', '--duration', '1.1'], { out: out.stream, err: err.stream, signal: new AbortController().signal });
    assert.equal(code, 0, err.text());
    assert.equal(err.text(), `maxpro: attached to agent at ${server.url}\n`);
    const rows = out.text().trim().split('\n').map((l) => JSON.parse(l) as TopTcpRow & { time: string });
    assert.ok(polls >= 4, `${polls} polls`);
    const pod = rows.filter((r) => r.workload === 'prod/pod-uid-1');
    assert.equal(pod.length, polls - 1, 'one row per interval after the baseline');
    for (const r of pod) {
      assert.equal(r.conns, 5);
      assert.equal(r.container, 'abcdef012345');
      assert.ok(Math.abs(r.connect_p99_ms - 2) / 2 < 0.07, `p99 ${r.connect_p99_ms}`);
    }
    assert.ok(rows.filter((r) => r.workload === '/test/8').every((r) => r.accepts === 2 && r.conns === 0));
  });

  test('filters, sort and limit apply to the agent\'s rows', async () => {
    let polls = 0;
    reading = () => {
      polls++;
      return { aggregates: [agg(7n, 'client', polls), agg(9n, 'client', 3 * polls)], lost: 0 };
    };
    const out = sink(), err = sink();
    const io = { out: out.stream, err: err.stream, signal: new AbortController().signal };
    assert.equal(await topTcpCommand.run(['--agent', server.url, '--json', '--interval', '0.2', '--duration', '0.5', '--limit', '1'], io), 0);
    const rows = out.text().trim().split('\n').map((l) => JSON.parse(l) as TopTcpRow);
    assert.ok(rows.length >= 1 && rows.every((r) => r.workload === '/test/9'), out.text());
    const out2 = sink();
    assert.equal(await topTcpCommand.run(['--agent', server.url, '--json', '--interval', '0.2', '--duration', '0.5', '--namespace', 'prod'], { ...io, out: out2.stream }), 0);
    const rows2 = out2.text().trim().split('\n').map((l) => JSON.parse(l) as TopTcpRow);
    assert.ok(rows2.length >= 1 && rows2.every((r) => r.workload === 'prod/pod-uid-1'), out2.text());
  });

  test('the table shows what the agent\'s probe lost since attach', async () => {
    let polls = 0;
    reading = () => ({ aggregates: [agg(7n, 'client', ++polls)], lost: 10 + polls });
    const out = sink(), err = sink();
    assert.equal(await topTcpCommand.run(['--agent', server.url, '--interval', '0.2', '--duration', '0.3'], { out: out.stream, err: err.stream, signal: new AbortController().signal }), 0);
    assert.match(out.text(), /top 20 by conns, 0\.2s interval, lost 1\n/);
    assert.match(out.text(), /WORKLOAD.*CONN\/S/);
    assert.match(out.text(), /\nprod\/pod-uid-1 +\d+\.\d +0\.0 +2\.0\d\d +0 +0 +0\n/);
  });

  test('the response is bounded and says when it left aggregates out', async () => {
    reading = () => ({ aggregates: [1n, 2n, 3n, 4n, 5n].map((id) => agg(id, 'client', 1)), lost: 0 });
    const s = await fetchTcpAggregates({ url: server.url });
    assert.equal(s.aggregates.length, 3);
    assert.equal(s.truncated, true);
  });

  test('no TCP probe: a JSON 404 naming why, and an explicit --agent fails with it', async () => {
    reading = () => ({ unavailable: 'the tcp probe is not loaded (probes.tcp.enabled is false)' });
    const res = await fetch(`${server.url}/tcp/aggregates`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { error: 'no TCP aggregates: the tcp probe is not loaded (probes.tcp.enabled is false)', code: 'MAXPRO_ERR_NOT_FOUND' });
    const err = sink();
    await assert.rejects(
      topTcpCommand.run(['--agent', server.url, '--duration', '1'], { out: sink().stream, err: err.stream, signal: new AbortController().signal }),
      { code: 'MAXPRO_ERR_NOT_FOUND', message: `agent at ${server.url} refused the TCP aggregates: HTTP 404 no TCP aggregates: the tcp probe is not loaded (probes.tcp.enabled is false)` },
    );
    assert.equal(err.text(), '', 'no source line: nothing was attached');
  });

  test('an explicit --agent that does not answer is an error, not a fallback', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    await assert.rejects(
      topTcpCommand.run(['--agent', url, '--duration', '1'], { out: sink().stream, err: sink().stream, signal: new AbortController().signal }),
      { code: 'MAXPRO_ERR_NOT_FOUND', message: new RegExp(`^no agent at ${url.replace(/\./g, '\\.')} \\(connect ECONNREFUSED`) },
    );
  });

  test('an agent that stops serving aggregates ends the command with exit 1', async () => {
    let polls = 0;
    reading = () => (++polls > 2 ? { unavailable: 'the tcp probe is not loaded (probes.tcp.enabled is false)' } : { aggregates: [agg(7n, 'client', polls)], lost: 0 });
    const out = sink(), err = sink();
    const code = await topTcpCommand.run(['--agent', server.url, '--json', '--interval', '0.1', '--duration', '5'], { out: out.stream, err: err.stream, signal: new AbortController().signal });
    assert.equal(code, 1);
    assert.match(err.text(), new RegExp(`maxpro: the agent at ${server.url.replace(/\./g, '\\.')} stopped serving TCP aggregates \\(agent at .* HTTP 404 no TCP aggregates: the tcp probe is not loaded`));
  });
});
