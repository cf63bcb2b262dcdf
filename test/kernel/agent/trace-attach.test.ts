// SPDX-License-Identifier: Apache-2.0
// `maxpro trace exec` and `maxpro trace tcp` attached to a running agent: the CLI (a child process,
// as a user runs it) says it attached, and shows the agent's events: an exec of a uniquely named
// program with its argv, and a loopback connect with its handshake latency although the agent's
// policy does not stream TCP records. The kernel's stream flag is on only while the CLI is attached.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const BPFTOOL = ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/sbin/bpftool'].find((p) => existsSync(p));
const TCP_POLICY_STREAM = 1;

function skipReason(): string | false {
  return kernelSkip() || (BPFTOOL ? false : 'needs bpftool to read the TCP probe\'s tcp_policy map');
}

/** `flags` of the tcp_policy map this process holds (the in-process agent's TCP probe). */
function tcpPolicyFlags(): number {
  const ids: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:bpf-map') continue;
      const m = /^map_id:\s+(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m) ids.push(Number(m[1]));
    } catch { /* closed meanwhile */ }
  }
  for (const id of new Set(ids)) {
    const info = JSON.parse(execFileSync(BPFTOOL!, ['map', 'show', 'id', String(id), '--json'], { encoding: 'utf8' })) as { name?: string };
    if (info.name !== 'tcp_policy') continue;
    const dump = JSON.parse(execFileSync(BPFTOOL!, ['map', 'lookup', 'id', String(id), 'key', '0', '0', '0', '0', '--json'], { encoding: 'utf8' })) as
      { value?: string[]; formatted?: { value?: { flags?: number } } };
    if (dump.formatted?.value?.flags !== undefined) return dump.formatted.value.flags;
    const b = (dump.value ?? []).slice(24, 28).map((h) => parseInt(h, 16));
    return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
  }
  throw new Error(`no tcp_policy map among this process's BPF maps (${ids.join(', ')})`);
}

interface Cli { out: string; err: string; exited: Promise<number | null> }

function runCli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAXPRO_AGENT_URL: '' } });
  const cli: Cli = { out: '', err: '', exited: new Promise((r) => child.on('exit', r)) };
  child.stdout.on('data', (d: Buffer) => { cli.out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { cli.err += d.toString(); });
  return cli;
}

describe('trace commands attached to a running agent', { skip: skipReason() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-attach-'));
  const prog = `mxattach${process.pid % 100000}`;
  let agent: Agent;
  let server: Server;
  let port = 0;

  before(async () => {
    copyFileSync('/bin/true', join(dir, prog));
    execFileSync('chmod', ['+x', join(dir, prog)]);
    // Nothing is exported but slow handshakes: the planner keeps the TCP stream off (a threshold only),
    // and execs are dropped by policy, with a predicate so that no cgroup filter drops them in the kernel.
    const config = parseConfigText([
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-attach-test-${process.pid}`, '  keepPinned: false',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
      'policy:', '  default: keep', '  rules:',
      '    - name: slow-tcp', '      when: tcp.connect.latency > 10s', '      action: keep',
      '    - name: no-other-tcp', '      probes: [tcp]', '      action: drop',
      '    - name: no-execs', '      when: process.args.count > 0', '      action: drop',
    ].join('\n'), 'attach.yaml').config;
    agent = await createAgent({ config });
    assert.deepEqual(agent.probes().sort(), ['process', 'tcp']);
    server = createServer((s) => { s.on('error', () => undefined); s.end(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server?.close();
    await agent?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('trace exec --json shows the agent\'s exec with its argv', async () => {
    const cli = runCli(['trace', 'exec', '--json', '--duration', '3', '--agent', agent.url, '--comm', prog]);
    assert.ok(await waitFor(() => cli.err.includes('attached to agent at'), 5000), cli.err);
    execFileSync(join(dir, prog), ['first arg', '--password=hunter2'], { stdio: 'ignore' });
    assert.equal(await cli.exited, 0, cli.err);
    assert.match(cli.err, new RegExp(`^maxpro: attached to agent at ${agent.url.replace(/\./g, '\\.')}\n`), 'the source line comes first, on stderr');
    const lines = cli.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1, cli.out);
    const r = lines[0]!;
    assert.equal(r['event.name'], 'process.exec');
    assert.equal(r['process.executable.path'], join(dir, prog));
    assert.deepEqual(r['process.command_args'], [join(dir, prog), 'first arg', '--password=***']);
    assert.equal(r['process.parent_pid'], process.pid);
    assert.match(cli.err, /1 execs shown \(0 failed\), 0 filtered out; from the agent at/);
    assert.match(cli.err, /lost: 0 /);
    assert.equal(agent.stats().events.process.dropped.policy_drop! > 0, true, 'execs are not exported, yet the CLI saw ours');
  });

  test('trace tcp --json gets every connection while attached; the kernel stream is off again after', async () => {
    assert.equal(agent.plan().tcp.stream, false, 'the policy does not stream TCP');
    assert.equal(tcpPolicyFlags() & TCP_POLICY_STREAM, 0, 'stream flag off before');
    const keptBefore = agent.stats().events.tcp.kept;
    const cli = runCli(['trace', 'tcp', '--json', '--duration', '3', '--agent', agent.url, '--port', String(port)]);
    assert.ok(await waitFor(() => cli.err.includes('attached to agent at'), 5000), cli.err);
    assert.ok(await waitFor(() => (tcpPolicyFlags() & TCP_POLICY_STREAM) !== 0, 2000), 'stream flag on while attached');
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.end());
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    assert.equal(await cli.exited, 0, cli.err);
    const lines = cli.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const conn = lines.find((e) => e.type === 'connect' && e.dport === port);
    assert.ok(conn, cli.out);
    assert.equal(conn.comm, 'node');
    assert.equal(conn.tgid, process.pid);
    assert.ok(Number(conn.handshakeNs) > 0 && Number(conn.handshakeNs) < 1e9, `handshake ${String(conn.handshakeNs)}`);
    assert.equal(conn.oldState, 'SYN_SENT', 'the agent streams the state the socket left');
    assert.equal(typeof conn.rttvarUs, 'number', 'and rttvar');
    assert.ok(lines.some((e) => e.type === 'accept' && e.sport === port), 'the server side too');
    assert.ok(lines.some((e) => e.type === 'close'), 'and the closes');
    assert.equal(agent.stats().events.tcp.kept, keptBefore, 'the export policy kept none of them');
    assert.ok(await waitFor(() => (tcpPolicyFlags() & TCP_POLICY_STREAM) === 0, 3000), 'stream flag off after the CLI left');
    await sleep(100);
    assert.equal(agent.plan().tcp.stream, false);
  });
});
