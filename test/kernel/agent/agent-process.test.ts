// SPDX-License-Identifier: Apache-2.0
// The agent with the real process probe: a behaviour predicate (process.exit.code != 0) plus a selector
// on the command name keeps exactly the failing process's exit, seen through the live stream client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { attachLiveStream } from '../../../src/agent/http/live-stream-client.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';
import { PLANTED } from '../../helpers/redaction-scenarios.js';

describe('agent policy with the process probe', { skip: kernelSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-proc-'));
  const ok = `mxok${process.pid % 100000}`;
  const bad = `mxbad${process.pid % 100000}`;
  let agent: Agent;
  const logs: string[] = [];
  const events: LiveStreamEvent[] = [];
  const abort = new AbortController();
  let streaming: Promise<number>;

  before(async () => {
    copyFileSync('/bin/true', join(dir, ok));
    copyFileSync('/bin/false', join(dir, bad));
    execFileSync('chmod', ['+x', join(dir, ok), join(dir, bad)]);
    const config = parseConfigText([
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-agent-proc-${process.pid}`, '  keepPinned: false',
      'probes:', '  tcp: { enabled: false }',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
      'redaction:', '  extraPatterns: ["hunter[0-9]+"]',
      'policy:', '  default: drop', '  rules:',
      '    - name: failed-exits', `      selector: comm in (${ok},${bad})`, '      when: process.exit.code != 0', '      action: keep',
      '    - name: execs', `      selector: comm in (${ok},${bad})`, '      when: process.args.count > 0', '      action: keep',
    ].join('\n'), 'proc.yaml').config;
    agent = await createAgent({ config, log: (m) => logs.push(m) });
    streaming = attachLiveStream({ url: agent.url, filter: { probe: 'process', kept: true }, onEvent: (e) => events.push(e), signal: abort.signal });
    await sleep(200);
  });
  after(async () => {
    abort.abort();
    await streaming;
    await agent?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('keeps the failing exit only; exec arguments are redacted', async () => {
    execFileSync(join(dir, ok), ['--password=hunter2', 'hunter42'], { stdio: 'ignore' });
    try {
      execFileSync(join(dir, bad), [], { stdio: 'ignore' });
    } catch { /* exits 1 */ }
    assert.ok(await waitFor(() => events.some((e) => e.name === 'process.exit' && e.comm === bad), 5000), JSON.stringify(events));
    await sleep(300);
    const exits = events.filter((e) => e.name === 'process.exit');
    assert.deepEqual(exits.map((e) => [e.comm, e.fields['process.exit.code']]), [[bad, 1]]);
    const exec = events.find((e) => e.name === 'process.exec' && String(e.attributes['process.executable.path']).endsWith(ok));
    assert.ok(exec, JSON.stringify(events));
    const cmd = (exec.attributes['process.command_args'] as string[]).join(' ');
    assert.ok(!cmd.includes('hunter'), cmd);
    assert.match(cmd, /--password=\*\*\*/);
    // BPF run statistics of the process probe's programs (read from fdinfo; BPF stats are on).
    const runs = agent.collect().find((f) => f.name === 'maxpro_probe_bpf_runs');
    assert.ok(runs && runs.type === 'counter');
    assert.ok((runs.samples.find((x) => x.labels.probe === 'process')?.value ?? 0) > 0, JSON.stringify(runs.samples));
  });

  test('planted secrets in real execs: none reaches the stream, the logs or the metrics', async () => {
    // Each scenario's program is a copy of /bin/true under the program's name, so the rules see the real argv[0].
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const seen: LiveStreamEvent[] = [];
    const ac = new AbortController();
    const all = attachLiveStream({ url: agent.url, filter: { probe: 'process' }, onEvent: (e) => seen.push(e), signal: ac.signal });
    await sleep(200);
    for (const c of PLANTED) {
      const prog = join(bin, basename(c.args[0]!));
      if (!existsSync(prog)) copyFileSync('/bin/true', prog);
      execFileSync('chmod', ['+x', prog]);
      execFileSync(prog, c.args.slice(1), { stdio: 'ignore' });
    }
    const ours = (): LiveStreamEvent[] => seen.filter((e) => e.name === 'process.exec' && String(e.attributes['process.executable.path']).startsWith(bin));
    assert.ok(await waitFor(() => ours().length >= PLANTED.length, 10_000), `${ours().length} of ${PLANTED.length} execs seen`);
    ac.abort();
    await all;
    const lines = ours().map((e) => String(e.attributes['process.command_line']));
    const metrics = JSON.stringify(agent.collect());
    const leaks = PLANTED.filter((c) => lines.some((l) => l.includes(c.secret)) || metrics.includes(c.secret) || logs.some((l) => l.includes(c.secret)));
    assert.deepEqual(leaks.map((c) => c.name), []);
    for (const c of PLANTED) assert.ok(lines.includes([join(bin, basename(c.args[0]!)), ...c.want.slice(1)].join(' ')), `${c.name}: ${lines.join('\n')}`);
  });

  test('a reload with a new pattern reaches the process source', async () => {
    const planted = `plant${process.pid}`;
    execFileSync(join(dir, ok), [planted], { stdio: 'ignore' });
    const withArg = (): LiveStreamEvent[] => events.filter((e) => e.name === 'process.exec' && Number(e.fields['process.args.count']) === 2 && String(e.attributes['process.executable.path']).endsWith(ok));
    assert.ok(await waitFor(() => withArg().some((e) => String(e.attributes['process.command_line']).includes(planted)), 5000), 'before the reload the value is kept');
    const next = parseConfigText([
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-agent-proc-${process.pid}`,
      'probes:', '  tcp: { enabled: false }',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
      'redaction:', '  extraPatterns: ["hunter[0-9]+", "plant[0-9]+"]',
      'policy:', '  default: drop', '  rules:',
      '    - name: execs', `      selector: comm in (${ok},${bad})`, '      when: process.args.count > 0', '      action: keep',
    ].join('\n'), 'proc.yaml').config;
    await agent.reload(next);
    const before = withArg().length;
    execFileSync(join(dir, ok), [planted], { stdio: 'ignore' });
    assert.ok(await waitFor(() => withArg().length > before, 5000));
    const after = withArg().slice(before).map((e) => String(e.attributes['process.command_line']));
    assert.ok(after.every((l) => !l.includes(planted) && l.endsWith(' ***')), after.join('\n'));
  });
});
