// SPDX-License-Identifier: Apache-2.0
// `maxpro trace exec` attached to a real agent, its stdout a pipe nobody reads during an exec burst:
// it buffers a bounded amount, drops and counts the rest, and its summary reports those drops
// (rows shown + rows lost = execs made), rather than holding everything and saying "lost: 0".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const EXECS = 2000;

describe('trace exec with an unread stdout', { skip: kernelSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-unread-'));
  const prog = `mxunread${process.pid % 100000}`;
  let agent: Agent;

  before(async () => {
    copyFileSync('/bin/true', join(dir, prog));
    execFileSync('chmod', ['+x', join(dir, prog)]);
    const config = parseConfigText([
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-unread-test-${process.pid}`, '  keepPinned: false',
      'probes:', '  tcp: { enabled: false }',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
    ].join('\n'), 'unread.yaml').config;
    agent = await createAgent({ config });
  });
  after(async () => {
    await agent?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('buffers a bounded amount and reports the rows it dropped', async (t) => {
    const child = spawn(process.execPath, [BIN, 'trace', 'exec', '--json', '--agent', agent.url, '--comm', prog], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAXPRO_AGENT_URL: '' },
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    assert.ok(await waitFor(() => err.includes('attached to agent at'), 5000), err);
    // Rows of ~1.2 KB each: 2000 of them are well past the 1 MiB bound plus the pipe's 64 KiB.
    const arg = 'a'.repeat(1000);
    // Asynchronously: the agent runs in this process and must drain its ring buffer meanwhile.
    const burst = spawn('sh', ['-c', `i=0; while [ $i -lt ${EXECS} ]; do "$0" "$1"; i=$((i+1)); done`, join(dir, prog), arg], { stdio: 'ignore' });
    assert.equal(await new Promise((r) => burst.on('exit', r)), 0);
    // Give the agent and the CLI time to take in the burst, then stop as a user would.
    await new Promise((r) => setTimeout(r, 2000));
    child.kill('SIGINT');
    // The summary goes to stderr with --json; only then is stdout read.
    assert.ok(await waitFor(() => /^lost: /m.test(err), 20_000), err);
    let lines = 0;
    child.stdout.on('data', (d: Buffer) => { for (const b of d) if (b === 10) lines++; });
    assert.equal(await exited, 0, err);
    const shown = Number(/^(\d+) execs shown/m.exec(err)?.[1]);
    const m = /^lost: (\d+) \(agent stream, reader too slow: (\d+); stdout too slow: (\d+); agent process probe while attached: (\d+)\)$/m.exec(err);
    assert.ok(m, err);
    const [lost, slow, stdoutDropped, probeLost] = m.slice(1).map(Number) as [number, number, number, number];
    t.diagnostic(`lines ${lines}, shown ${shown}, stdout too slow ${stdoutDropped}, agent stream ${slow}, probe ${probeLost}`);
    assert.ok(stdoutDropped > 0, `rows were dropped, not held: ${err}`);
    assert.equal(lost, slow + stdoutDropped + probeLost);
    assert.equal(lines, shown, 'every row counted as shown was written');
    assert.equal(shown + lost, EXECS, 'shown + lost = the execs made');
  });
});
