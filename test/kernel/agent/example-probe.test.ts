// SPDX-License-Identifier: Apache-2.0
// The probe contract, proven by the example probe (bpf/probes/sysenter, src/probes/sysenter and
// one registry entry, nothing else): it shows up in `maxpro config schema`, in `maxpro policy
// explain` with its push-down, in the agent's /metrics with its own BPF run statistics, and in the
// live stream, where a subscriber's `pid` filter is the probe's stream demand (the kernel sends that
// process's syscalls only while someone watches).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { openLiveStream } from '../../../src/agent/http/live-stream-client.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const maxpro = (...args: string[]): string => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

/** The value of one sample of the exposition, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the example probe (sysenter), registered with one registry entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-example-probe-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('config schema: probes.sysenter with its keys and defaults', () => {
    const schema = JSON.parse(maxpro('config', 'schema')) as { properties: { probes: { properties: Record<string, { properties: Record<string, { default?: unknown }> }> } } };
    const s = schema.properties.probes.properties.sysenter;
    assert.ok(s, 'probes.sysenter is in the schema');
    assert.equal(s.properties.enabled?.default, false, 'off by default');
    assert.equal(s.properties.pid?.default, 0);
  });

  test('policy explain: its predicate runs in the kernel, its settings are listed', () => {
    const file = join(dir, 'explain.yaml');
    writeFileSync(file, [
      'probes:', '  sysenter:', '    enabled: true', '    pid: 1',
      'policy:', '  default: drop', '  rules:',
      '    - name: only-getpid', '      when: syscall.id == 39', '      action: keep',
    ].join('\n'));
    const text = maxpro('policy', 'explain', '--config', file, '--no-resolve');
    assert.match(text, /rule only-getpid \(keep; probes: sysenter\)/);
    assert.match(text, /syscall\.id == 39\s+kernel\s+sysenter_policy\.syscall_nr = 39 \(also re-checked in user space\)/);
    assert.match(text, /sysenter_policy: records=1 syscall_nr=39/);
    assert.match(text, /sysenter cgroup filter: off/);
    const json = JSON.parse(maxpro('policy', 'explain', '--config', file, '--no-resolve', '--json')) as { sysenter?: unknown };
    assert.deepEqual(json.sysenter, { records: true, syscallNr: 39 });
    assert.match(maxpro('config', 'check', file), /probes: process, tcp, sysenter;.*sysenter thresholds in the kernel/);
  });

  describe('in the agent', { skip: kernelSkip() }, () => {
    let agent: Agent;
    let token = '';
    let child: ChildProcess;

    before(async () => {
      const tokenFile = join(dir, 'agent.token');
      const config = parseConfigText([
        'agent:', `  pinDir: /sys/fs/bpf/maxpro-example-${process.pid}`, '  keepPinned: false',
        'probes:', '  process:', '    enabled: false', '  tcp:', '    enabled: false', '  sysenter:', '    enabled: true',
        'http:', '  listen: 127.0.0.1:0', '  auth:', `    tokenFile: ${tokenFile}`,
      ].join('\n'), 'example.yaml').config;
      agent = await createAgent({ config });
      assert.deepEqual(agent.probes(), ['sysenter']);
      token = readFileSync(tokenFile, 'utf8').trim();
      // A process that makes a few hundred syscalls a second, for as long as the test runs.
      child = spawn(process.execPath, ['-e', 'setInterval(() => require("fs").statSync("/"), 2)'], { stdio: 'ignore' });
      await sleep(200);
    });

    after(async () => {
      child?.kill('SIGKILL');
      await agent?.shutdown();
    });

    test('the live stream: a pid filter asks the kernel for that process\'s syscalls', async () => {
      // Nothing is configured to leave the kernel: no records before a subscriber asks.
      const before = agent.stats().events.sysenter.received;
      await sleep(300);
      assert.equal(agent.stats().events.sysenter.received, before, 'no records while nobody watches and probes.sysenter.pid is 0');
      const events: LiveStreamEvent[] = [];
      const sub = await openLiveStream({ url: agent.url, token, filter: { probe: 'sysenter', pid: child.pid! }, onEvent: (e) => events.push(e) });
      try {
        assert.ok(await waitFor(() => events.length >= 10, 10_000), `syscall records of ${child.pid} in the stream (got ${events.length})`);
      } finally {
        sub.close();
      }
      for (const e of events) {
        assert.equal(e.probe, 'sysenter');
        assert.equal(e.name, 'syscall.enter');
        assert.equal(e.tgid, child.pid);
        assert.ok(Number.isInteger(e.fields['syscall.id']) && e.fields['syscall.id']! >= 0, JSON.stringify(e));
      }
      await sub.done;
      // The subscriber left: the kernel stops sending.
      await sleep(300);
      const after = agent.stats().events.sysenter.received;
      await sleep(300);
      assert.equal(agent.stats().events.sysenter.received, after, 'records stop when the subscriber leaves');
    });

    test('/metrics: its counter, its records and its own programs\' run statistics', async () => {
      await sleep(200);
      const res = await fetch(`${agent.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.equal(sample(text, 'maxpro_probe_loaded', 'probe="sysenter"'), 1);
      assert.ok((sample(text, 'maxpro_sysenter_syscalls_total', '') ?? 0) > 100, 'syscall entries counted in BPF');
      assert.ok((sample(text, 'maxpro_probe_events_total', 'probe="sysenter"') ?? 0) >= 10, 'the records the stream asked for');
      assert.equal(sample(text, 'maxpro_probe_lost_events_total', 'probe="sysenter",reason="ringbuf_full"'), 0);
      const runs = sample(text, 'maxpro_probe_bpf_runs_total', 'probe="sysenter"');
      assert.ok(runs !== undefined, 'its run statistics are exported');
      // BPF stats need CAP_SYS_ADMIN, which a kernel test has; then the program has run.
      assert.ok(runs > 0, `the program ran (${runs} runs)`);
    });
  });
});
