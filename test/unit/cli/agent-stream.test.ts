// SPDX-License-Identifier: Apache-2.0
// How trace exec / trace tcp choose their source: an agent that answers (a real live stream on a local
// HTTP server), none listening, one that never answers, one that refuses, --local; and both commands
// end to end against a stream fed with synthetic events (no root: nothing is loaded).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLiveStream } from '../../../src/agent/http/live-stream.js';
import type { LiveStream } from '../../../src/agent/http/live-stream.js';
import type { AgentEvent } from '../../../src/agent/agent-event.js';
import { formatAgentLoss, openAgentStream } from '../../../src/cli/agent-stream.js';
import { main } from '../../../src/cli/main.js';
import { execRecordOf } from '../../../src/probes/process/cli/trace-exec.js';
import type { ProcessRecord } from '../../../src/probes/process/process-schema.js';
import { formatTcpJson, tcpEventFromAgent } from '../../../src/probes/tcp/cli/trace-tcp.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';
import { tcpToAgentEvent } from '../../../src/probes/tcp/tcp-source.js';
import type { TcpConnEvent } from '../../../src/probes/tcp/tcp-event.js';

function sink(): { stream: Writable; text(): string } {
  let text = '';
  return {
    stream: new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } }),
    text: () => text,
  };
}

async function fakeAgent(loaded: readonly string[] = ['process', 'tcp']): Promise<{ url: string; stream: LiveStream; close(): Promise<void> }> {
  const stream = createLiveStream({ probeLoaded: (p) => loaded.includes(p), probeLost: () => ({ process: 0, tcp: 0 }) });
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === '/stream') stream.attach(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stream,
    close: () => new Promise<void>((r) => { stream.close(); server.closeAllConnections(); server.close(() => r()); }),
  };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const until = async (fn: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const base = { filter: { probe: 'process' as const }, onEvent: () => undefined, signal: new AbortController().signal };

describe('choosing the event source', () => {
  test('an agent that answers: attached, one stderr line', async () => {
    const agent = await fakeAgent();
    const err = sink();
    try {
      const s = await openAgentStream({ ...base, source: { local: false, url: agent.url, explicit: false }, err: err.stream });
      assert.ok(s);
      assert.equal(err.text(), `maxpro: attached to agent at ${agent.url}\n`);
      await until(() => s.status().first !== undefined);
      s.subscription.close();
      assert.equal((await s.subscription.done).by, 'client');
    } finally {
      await agent.close();
    }
  });

  test('nothing listening: load locally, saying why; explicit --agent: an error naming the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = sink();
    assert.equal(await openAgentStream({ ...base, source: { local: false, url, explicit: false }, err: err.stream }), undefined);
    assert.match(err.text(), new RegExp(`^maxpro: no agent at ${url} \\(connect ECONNREFUSED [^)]*\\): loading probes locally\\n$`));
    await assert.rejects(openAgentStream({ ...base, source: { local: false, url, explicit: true }, err: sink().stream }),
      (e: Error & { code?: string }) => e.code === 'MAXPRO_ERR_NOT_FOUND' && e.message.startsWith(`no agent at ${url} (`));
  });

  test('a listener that never answers: local after the connect timeout (1 s by default)', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const err = sink();
      const t0 = Date.now();
      assert.equal(await openAgentStream({ ...base, source: { local: false, url, explicit: false }, err: err.stream }), undefined);
      const took = Date.now() - t0;
      assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
      assert.match(err.text(), /no answer within 1000 ms\): loading probes locally/);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  test('an agent that refuses (probe not running there): local, or an error when explicit', async () => {
    const agent = await fakeAgent(['process']);
    try {
      const err = sink();
      const source = { local: false as const, url: agent.url, explicit: false };
      assert.equal(await openAgentStream({ ...base, filter: { probe: 'tcp' }, source, err: err.stream }), undefined);
      assert.match(err.text(), /refused the stream: HTTP 409 probe tcp is not running in this agent: loading probes locally/);
      await assert.rejects(openAgentStream({ ...base, filter: { probe: 'tcp' }, source: { ...source, explicit: true }, err: sink().stream }), /HTTP 409/);
    } finally {
      await agent.close();
    }
  });

  test('--local: no connection attempt', async () => {
    const err = sink();
    assert.equal(await openAgentStream({ ...base, source: { local: true }, err: err.stream }), undefined);
    assert.equal(err.text(), 'maxpro: --local: loading probes locally\n');
  });

  test('the loss line: this subscriber\'s drops plus what the probe lost while attached', () => {
    assert.equal(formatAgentLoss('tcp', { first: { sent: 0, dropped: 0, probeLost: { tcp: 5 } }, last: { sent: 9, dropped: 2, probeLost: { tcp: 8 } } }),
      'lost: 5 (agent stream, reader too slow: 2; agent tcp probe while attached: 3)\n');
    assert.match(formatAgentLoss('tcp', {}), /unknown/);
  });
});

const execRecord: ProcessRecord = {
  'time': '2026-11-24T15:19:08.370000000Z', 'event.name': 'process.exec', 'process.pid': 42, 'process.parent_pid': 7,
  'process.executable.path': '/tmp/mxtest', 'process.executable.name': 'mxtest', 'process.command_args': ['mxtest', 'a b', '--token=***'],
  'process.real_user.id': 1000, 'process.linux.cgroup': '/kubepods/pod-1/abc', 'container.id': 'abcdef0123456789', 'container.runtime': 'docker',
  'k8s.pod.uid': 'uid-1', 'maxpro.tid': 42, 'maxpro.comm': 'mxtest', 'maxpro.boot_ns': 1, 'maxpro.cgroup.id': 9, 'maxpro.exec.retval': 0,
  'maxpro.args.count': 3, 'maxpro.ancestry': [{ pid: 7, comm: 'bash' }],
};
const exec: AgentEvent = {
  probe: 'process', name: 'process.exec', timeMs: Date.parse('2026-11-24T15:19:08.370Z'), pid: 42, tgid: 42, comm: 'mxtest', exe: '/tmp/mxtest', cgroupId: 9,
  fields: { 'process.args.count': 3 },
  attributes: () => ({ 'process.pid': 42, 'process.parent_pid': 7, 'process.executable.path': '/tmp/mxtest' }),
  commandArgs: () => ['mxtest', 'a b', '--token=***'],
  record: execRecord,
  workload: { labels: { app: 'web' }, attributes: { cgroup: '/kubepods/pod-1/abc', container: 'abcdef0123456789', pod: 'uid-1' } },
};
const connect: AgentEvent = {
  probe: 'tcp', name: 'tcp.connect', timeMs: 0, pid: 50, tgid: 50, comm: 'psql', cgroupId: 9,
  fields: { 'tcp.connect.latency': 1_500_000, 'tcp.connect.failed': 0, 'tcp.retransmits': 0, 'tcp.bytes.sent': 0, 'tcp.bytes.received': 0 },
  attributes: () => ({ 'network.type': 'ipv4', 'source.address': '127.0.0.1', 'source.port': 40000, 'destination.address': '127.0.0.1', 'destination.port': 5432, 'tcp.direction': 'client', 'tcp.error': 0, 'tcp.segs_out': 2, 'tcp.segs_in': 1 }),
  workload: { labels: {}, attributes: { container: 'abcdef0123456789' } },
};

async function runAttached(argv: string[], agent: { stream: LiveStream }, publish: () => void): Promise<{ code: number; out: string; err: string }> {
  const out = sink(), err = sink();
  const ctrl = new AbortController();
  const running = main(argv, { out: out.stream, err: err.stream, signal: ctrl.signal });
  await until(() => agent.stream.clients() === 1);
  publish();
  await until(() => out.text().includes('\n'));
  await new Promise((r) => setTimeout(r, 100));
  ctrl.abort();
  const code = await running;
  return { code, out: out.text(), err: err.text() };
}

describe('trace commands attached to an agent', () => {
  test('trace exec --json: the agent\'s exec with its argv, filters sent to the agent', async () => {
    const agent = await fakeAgent();
    try {
      const r = await runAttached(['trace', 'exec', '--json', '--agent', agent.url, '--comm', 'mxtest', '--redact', '(a) b'], agent, () => {
        agent.stream.publish({ ...exec, comm: 'other', exe: '/bin/other' }, true);
        agent.stream.publish(exec, false);
      });
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, new RegExp(`^maxpro: attached to agent at ${agent.url}\n`));
      assert.match(r.err, /1 execs shown \(0 failed\), 0 filtered out; from the agent at/);
      assert.match(r.err, /lost: 0 \(agent stream, reader too slow: 0; stdout too slow: 0; agent process probe while attached: 0\)/);
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 1, 'the agent filtered by comm');
      assert.deepEqual(lines[0]!['process.command_args'], ['mxtest', 'a***', '--token=***'], 'argv kept apart, --redact applied on top');
      assert.equal(lines[0]!['process.parent_pid'], 7);
      assert.equal(lines[0]!['container.id'], 'abcdef0123456789');
      assert.equal(lines[0]!['maxpro.label.app'], 'web');
    } finally {
      await agent.close();
    }
  });

  test('trace exec table; the agent ending the stream ends the command with exit 1', async () => {
    const agent = await fakeAgent();
    const out = sink(), err = sink();
    const running = main(['trace', 'exec', '--agent', agent.url, '--ancestry'], { out: out.stream, err: err.stream, signal: new AbortController().signal });
    await until(() => agent.stream.clients() === 1);
    agent.stream.publish(exec, true);
    await until(() => out.text().includes('mxtest a b'));
    await agent.close();
    assert.equal(await running, 1);
    assert.match(out.text(), /^TIME +PID +PPID +UID +RET +CONTAINER\/POD +ARGS\n\d\d:\d\d:\d\d\.\d{3} +42 +7 +1000 +0 +.*:abcdef012345 +mxtest a b --token=\*\*\*\n/);
    assert.match(out.text(), /\n +↳ bash\(7\)\n/, 'the agent\'s records carry the ancestry');
    assert.doesNotMatch(err.text(), /not applied/);
    assert.match(err.text(), /the agent at http:\/\/127\.0\.0\.1:\d+ ended the stream/);
  });

  test('trace tcp --json: probe-event shape without the fields the agent does not stream', async () => {
    const agent = await fakeAgent();
    try {
      const r = await runAttached(['trace', 'tcp', '--json', '--agent', agent.url, '--port', '5432', '--min-latency', '1'], agent, () => {
        assert.deepEqual(agent.stream.demand('tcp'), { minHandshakeNs: 1e6 }, 'a narrow filter asks the kernel for narrow records');
        agent.stream.publish({ ...connect, attributes: () => ({ ...connect.attributes(), 'destination.port': 80 }) }, true);
        agent.stream.publish(connect, false);
      });
      assert.equal(r.code, 0, r.err);
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 1);
      const e = lines[0]!;
      assert.equal(e.type, 'connect');
      assert.equal(e.handshakeNs, 1_500_000);
      assert.equal(e.dport, 5432);
      assert.equal(e.comm, 'psql');
      assert.equal(e.container, 'abcdef0123456789');
      for (const k of ['bootNs', 'netns', 'rttvarUs', 'oldState', 'tcpFlags']) assert.ok(!(k in e), k);
      assert.match(r.err, /1 events shown, 0 filtered out, 1 received from the agent/);
    } finally {
      await agent.close();
    }
  });
});

describe('agent events as the commands show them', () => {
  const line = (e: AgentEvent): LiveStreamEvent => JSON.parse(JSON.stringify({
    time: new Date(e.timeMs).toISOString(), probe: e.probe, name: e.name, pid: e.pid, tgid: e.tgid, comm: e.comm, cgroupId: e.cgroupId,
    fields: e.fields, attributes: e.attributes(), args: e.commandArgs?.(), record: e.record, labels: e.workload.labels, workload: e.workload.attributes,
  })) as LiveStreamEvent;

  test('exec: the agent\'s record as it is, with its workload labels; no record, nothing to show', () => {
    const r = execRecordOf(line(exec));
    assert.deepEqual(r, { ...execRecord, 'maxpro.label.app': 'web' });
    const { record: _record, ...old } = line(exec);
    assert.equal(execRecordOf(old), undefined);
  });

  test('tcp: names map back to probe event types; other events are skipped', () => {
    const t = tcpEventFromAgent(line({ ...connect, name: 'tcp.connect_failed', fields: { 'tcp.connect.failed': 1 }, attributes: () => ({ ...connect.attributes(), 'tcp.error': -111 }) }));
    assert.equal(t?.event.type, 'connectFailed');
    assert.equal(t?.event.type === 'connectFailed' ? t.event.err : 0, -111);
    const sig = tcpEventFromAgent(line({ ...connect, name: 'tcp.drop', comm: '', fields: {}, attributes: () => ({ 'network.type': 'ipv4', 'source.address': '', 'destination.address': '', 'tcp.reason': 5, 'tcp.state': 'CLOSE' }) }));
    assert.equal(sig?.event.type, 'drop');
    assert.equal(sig?.event.family, 0);
    assert.equal(tcpEventFromAgent(line(exec)), undefined);
    const json = JSON.parse(formatTcpJson(t!.event, t!.who, t!.time, false)) as Record<string, unknown>;
    assert.equal(json.bootNs, 0, 'kept when not from an agent');
  });

  test('tcp: the agent streams the old state and rttvar under the names trace tcp reads', () => {
    const close: TcpConnEvent = {
      type: 'close', bootNs: 1n, cgroupId: 7n, handshakeNs: 150e6, lifetimeNs: 2e9, bytesAcked: 10, bytesReceived: 20, tgid: 42, pid: 43,
      segsOut: 3, segsIn: 4, srttUs: 800, rttvarUs: 250, totalRetrans: 1, err: 0, netns: 1, family: 4, saddr: '10.0.0.1', sport: 40000,
      daddr: '10.0.0.2', dport: 5432, dir: 'client', oldState: 'FIN_WAIT2', comm: 'psql',
    };
    const a = tcpToAgentEvent(close) as AgentEvent;
    assert.equal(a.attributes()['tcp.old_state'], 'FIN_WAIT2');
    assert.equal(a.attributes()['tcp.rttvar_us'], 250);
    const t = tcpEventFromAgent(line(a));
    assert.equal(t?.event.type, 'close');
    const e = t!.event as TcpConnEvent;
    assert.equal(e.oldState, 'FIN_WAIT2');
    assert.equal(e.rttvarUs, 250);
    assert.equal(e.srttUs, 800);
    const json = JSON.parse(formatTcpJson(e, t!.who, t!.time, true)) as Record<string, unknown>;
    assert.equal(json.oldState, 'FIN_WAIT2', 'attached --json fills oldState');
    assert.equal(json.rttvarUs, 250, 'and rttvarUs');
    for (const k of ['bootNs', 'netns']) assert.ok(!(k in json), k);
  });
});
