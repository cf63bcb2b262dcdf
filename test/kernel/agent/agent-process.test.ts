// SPDX-License-Identifier: Apache-2.0
// The agent with the real process probe: a behaviour predicate (process.exit.code != 0) plus a selector
// on the command name keeps exactly the failing process's exit, seen through the live stream client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { attachLiveStream } from '../../../src/agent/http/live-stream-client.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';

describe('agent policy with the process probe', { skip: kernelSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-proc-'));
  const ok = `mxok${process.pid % 100000}`;
  const bad = `mxbad${process.pid % 100000}`;
  let agent: Agent;
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
    agent = await createAgent({ config });
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
    // BPF run statistics of the process probe's programs (its source reports them; BPF stats are on).
    const runs = agent.collect().find((f) => f.name === 'maxpro_probe_bpf_runs');
    assert.ok(runs && runs.type === 'counter');
    assert.ok((runs.samples.find((x) => x.labels.probe === 'process')?.value ?? 0) > 0, JSON.stringify(runs.samples));
  });
});
