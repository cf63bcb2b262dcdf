// SPDX-License-Identifier: Apache-2.0
// Reloads and counters with the real process probe: maxpro_policy_decisions_total never goes down
// across reloads (identical or changed), and a reload refused because the file does not validate is
// counted in maxpro_agent_reloads_total{result="rejected"}.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { watchReloads } from '../../../src/cli/commands/agent.js';

describe('reload keeps counters and counts refusals', { skip: kernelSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-reload-counters-'));
  const bin = `mxrl${process.pid % 100000}`;
  const pinDir = `/sys/fs/bpf/maxpro-reload-counters-${process.pid}`;
  const text = (rule: string): string => [
    'agent:', `  pinDir: ${pinDir}`, '  keepPinned: false',
    'probes:', '  tcp: { enabled: false }',
    'http:', '  listen: 127.0.0.1:0', '  pprof: false',
    'policy:', '  default: drop', '  rules:',
    `    - name: ${rule}`, `      selector: comm in (${bin})`, '      action: keep',
  ].join('\n');
  let agent: Agent;

  before(async () => {
    copyFileSync('/bin/true', join(dir, bin));
    execFileSync('chmod', ['+x', join(dir, bin)]);
    agent = await createAgent({ config: parseConfigText(text('mine'), 'reload.yaml').config });
  });
  after(async () => {
    await agent?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const decisions = (rule: string): number => agent.collect().find((f) => f.name === 'maxpro_policy_decisions')?.samples
    .filter((s) => s.labels.rule === rule).reduce((n, s) => n + ('value' in s ? s.value : 0), 0) ?? 0;
  const reloads = (result: string): number => {
    const s = agent.collect().find((f) => f.name === 'maxpro_agent_reloads')?.samples.find((x) => x.labels.result === result);
    return s && 'value' in s ? s.value : -1;
  };
  const run = (n: number): void => { for (let i = 0; i < n; i++) execFileSync(join(dir, bin), ['x'], { stdio: 'ignore' }); };

  test('policy decisions survive an identical reload and a changed one', async () => {
    run(5);
    assert.ok(await waitFor(() => decisions('mine') >= 5, 5000), `decisions: ${decisions('mine')}`);
    const before = decisions('mine');
    await agent.reload(parseConfigText(text('mine'), 'reload.yaml').config);
    assert.ok(decisions('mine') >= before, `after an identical reload: ${decisions('mine')} < ${before}`);
    run(3);
    assert.ok(await waitFor(() => decisions('mine') >= before + 3, 5000), `decisions: ${decisions('mine')}`);
    const mid = decisions('mine');
    await agent.reload(parseConfigText(text('renamed'), 'reload.yaml').config);
    assert.ok(decisions('mine') >= mid, 'a removed rule\'s counter went down');
    run(2);
    assert.ok(await waitFor(() => decisions('renamed') >= 2, 5000));
    assert.ok(decisions('mine') >= mid);
    assert.equal(reloads('ok'), 2);
  });

  test('a file that does not validate counts as a rejected reload', async () => {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, text('renamed'));
    let err = '';
    const io = { out: process.stdout, err: { write: (s: string) => { err += s; return true; } } as unknown as NodeJS.WritableStream, signal: new AbortController().signal };
    const stop = watchReloads({ reload: (c) => agent.reload(c), reloadRefused: async () => agent.reloadRefused() }, { file, env: {} }, io);
    try {
      const rejected = reloads('rejected');
      writeFileSync(file, `${text('renamed')}\nhttp:\n  bogus: 1\n`);
      assert.ok(await waitFor(() => /refused/.test(err), 5000), err);
      assert.equal(reloads('rejected'), rejected + 1, err);
    } finally {
      stop();
    }
  });
});
