// SPDX-License-Identifier: Apache-2.0
// `maxpro top tcp` attached to a running agent: the CLI (a child process, as a user runs it) reads the
// agent's TCP aggregates over HTTP instead of loading a probe. A test cgroup makes N loopback
// connections; the rows of that cgroup add up to exactly N connects and N accepts, and the CLI holds
// no BPF program while attached (whereas with --local it does, which shows the check can see one).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { createTestCgroup } from '../tcp/tcp-fixtures.js';
import type { TestCgroup } from '../tcp/tcp-fixtures.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { fetchTcpAggregates } from '../../../src/probes/tcp/cli/tcp-aggregates-client.js';
import type { TopTcpRow } from '../../../src/probes/tcp/cli/top-tcp.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));

interface Cli { pid: number; out: string; err: string; exited: Promise<number | null> }

function runCli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAXPRO_AGENT_URL: '' } });
  const cli: Cli = { pid: child.pid!, out: '', err: '', exited: new Promise((r) => child.on('exit', r)) };
  child.stdout.on('data', (d: Buffer) => { cli.out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { cli.err += d.toString(); });
  return cli;
}

/** BPF programs a process holds open (a loaded probe holds one fd per program). */
function bpfPrograms(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:bpf-prog') n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

describe('top tcp attached to a running agent', { skip: kernelSkip() }, () => {
  let agent: Agent;
  let cg: TestCgroup;

  before(async () => {
    // The cgroup exists before the agent's first cgroup scan, so its workload name is stable.
    cg = createTestCgroup();
    const config = parseConfigText([
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-top-attach-test-${process.pid}`, '  keepPinned: false',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
      'probes:', '  process:', '    enabled: false',
    ].join('\n'), 'top-attach.yaml').config;
    agent = await createAgent({ config });
    assert.deepEqual(agent.probes(), ['tcp']);
  });

  after(async () => {
    await agent?.shutdown();
    cg?.remove();
  });

  test('top tcp --json --agent: the test cgroup\'s rows count exactly its connections, with no probe of its own', async () => {
    const N = 7;
    const cli = runCli(['top', 'tcp', '--json', '--interval', '1', '--duration', '5', '--agent', agent.url]);
    assert.ok(await waitFor(() => cli.err.includes('attached to agent at'), 5000), cli.err);
    assert.equal(cli.err, `maxpro: attached to agent at ${agent.url}\n`, 'the source line, and nothing about loading probes');
    assert.equal(bpfPrograms(cli.pid), 0, 'the CLI loaded no BPF program');
    const t = cg.traffic(['loopback', '127.0.0.1', String(N)]);
    assert.equal(await t.exited(), 0, t.output());
    assert.equal(bpfPrograms(cli.pid), 0, 'still none after the traffic');
    assert.equal(await cli.exited, 0, cli.err);
    const rows = cli.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TopTcpRow);
    const name = basename(cg.path);
    const mine = rows.filter((r) => r.workload.endsWith(`/${name}`) || r.workload === `cgroup:${cg.id}`);
    assert.ok(mine.length > 0, cli.out);
    assert.equal(mine.reduce((a, r) => a + r.conns, 0), N, cli.out);
    assert.equal(mine.reduce((a, r) => a + r.accepts, 0), N, cli.out);
    assert.ok(mine.every((r) => r.failed === 0), cli.out);
    assert.ok(mine.some((r) => r.connect_p99_ms > 0 && r.connect_p99_ms < 1000), cli.out);
  });

  test('GET /tcp/aggregates holds the cgroup\'s cumulative aggregates with the agent\'s workload', async () => {
    const s = await fetchTcpAggregates({ url: agent.url });
    assert.equal(s.truncated, false);
    const client = s.aggregates.find((a) => a.aggregate.cgroupId === cg.id && a.aggregate.dir === 'client');
    const server = s.aggregates.find((a) => a.aggregate.cgroupId === cg.id && a.aggregate.dir === 'server');
    assert.ok(client && server, `no aggregate of cgroup ${cg.id}`);
    assert.equal(client.aggregate.counters.opens, 7);
    assert.equal(client.aggregate.handshake.count, 7);
    assert.equal(client.aggregate.lifetime.count, 7);
    assert.equal(server.aggregate.counters.opens, 7);
    assert.ok(client.workload.cgroupPath.endsWith(`/${basename(cg.path)}`), client.workload.cgroupPath);
  });

  test('with --local the CLI loads its own probe (so the check above can see one)', async () => {
    const cli = runCli(['top', 'tcp', '--json', '--duration', '3', '--local']);
    assert.ok(await waitFor(() => bpfPrograms(cli.pid) > 0, 8000), `no BPF program in the --local CLI: ${cli.err}`);
    assert.equal(await cli.exited, 0, cli.err);
    assert.match(cli.err, /^maxpro: --local: loading probes locally\n/);
  });
});
