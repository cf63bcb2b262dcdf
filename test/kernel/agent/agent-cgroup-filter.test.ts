// SPDX-License-Identifier: Apache-2.0
// Cgroup selectors pushed into the process probe: two real cgroup v2 directories, a program run in
// each. A policy keeping only one (a workload label, so an allow list) filters the other's records
// in BPF: they never reach user space, and the kernel counter says so. A drop rule on one cgroup
// (a deny list) filters just that one. Hot reloads flip between the two and back to no filter.
// A live-stream subscriber to the process probe turns the filter off while it is attached (it sees
// what the policy drops too), and the list comes back when it leaves.
// What reaches user space is observed without suspending anything: a kept-only stream shows the
// kept records, and per-rule drop decisions (a rule matching only one cgroup) show dropped ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { readNdjson } from '../../helpers/ndjson.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { openLiveStream } from '../../../src/agent/http/live-stream-client.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import type { AgentConfig } from '../../../src/agent/config/agent-config.js';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import { localCredential } from '../../../src/lib/http/local-endpoints.js';

interface Line { name?: string; cgroupId?: number; stream?: unknown }

const root = findCgroup2Mount();
const skip = kernelSkip() || (root ? false : 'needs a cgroup2 mount');

describe('agent: cgroup allow and deny lists in the process probe', { skip, timeout: 60_000 }, () => {
  const base = `/maxpro-cgf-test-${process.pid}`;
  const dirA = `${root}${base}/a`;
  const dirB = `${root}${base}/b`;
  let idA = 0;
  let idB = 0;
  let agent: Agent;
  const seen: Line[] = [];
  const logs: string[] = [];
  const abort = new AbortController();
  const bin = mkdtempSync(join(tmpdir(), 'maxpro-cgf-'));
  const prog = `mxcgf${process.pid % 100000}`;

  const config = (policy: string[]): AgentConfig => parseConfigText([
    'agent:', `  pinDir: /sys/fs/bpf/maxpro-agent-cgf-${process.pid}`, '  keepPinned: false',
    'probes:', '  tcp: { enabled: false }',
    'http:', '  listen: 127.0.0.1:0', '  pprof: false',
    'workloads:', `  - cgroup: ${base}/a`, '    labels: { app: kept }',
    'policy:', ...policy,
  ].join('\n'), 'cgf.yaml').config;
  // watch-b drops b's records like the default does, without changing the allow list: it counts
  // those that reach user space.
  const keepA = config([
    '  default: drop', '  rules:', '    - name: watch-b', `      selector: cgroup=${base}/b`, '      action: drop',
    '    - name: keep-a', '      selector: app=kept', '      action: keep',
  ]);
  const dropB = config(['  default: keep', '  rules:', '    - name: quiet-b', `      selector: cgroup=${base}/b`, '      action: drop']);
  const dropA = config(['  default: keep', '  rules:', '    - name: quiet-a', `      selector: cgroup=${base}/a`, '      action: drop']);
  // Both cgroups kept (so the kept-only stream shows them); the later universal keep rule turns the filter off.
  const noPush = config([
    '  default: drop', '  rules:', '    - name: from-a', `      selector: cgroup=${base}/a`, '      action: keep',
    '    - name: from-b', `      selector: cgroup=${base}/b`, '      action: keep',
    '    - name: exits', '      when: process.exit.code != 0', '      action: keep',
  ]);

  const filtered = (reason: string): number => {
    const fam = agent.collect().find((f) => f.name === 'maxpro_policy_kernel_filtered_events');
    const s = fam?.samples.find((x) => x.labels.probe === 'process' && x.labels.reason === reason);
    return s && 'value' in s ? s.value : 0;
  };
  /** Records of `rule`'s cgroup that reached user space and were dropped there. */
  const droppedBy = (rule: string): number => {
    const fam = agent.collect().find((f) => f.name === 'maxpro_policy_decisions');
    const s = fam?.samples.find((x) => x.labels.rule === rule && x.labels.result === 'dropped');
    return s && 'value' in s ? s.value : 0;
  };
  const gauge = (name: string, labels: Record<string, string>): number | undefined => {
    const s = agent.collect().find((f) => f.name === name)?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return s && 'value' in s ? s.value : undefined;
  };
  /** Runs `program` twice inside `dir` (the shell moves itself there first); resolves when it has exited. */
  const runIn = async (dir: string, program = '/bin/true'): Promise<void> => {
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && ${program} && ${program}`], { stdio: 'ignore' });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0);
  };
  /** Runs one program in each cgroup; returns the records of each that reached user space. */
  const round = async (): Promise<{ a: number; b: number }> => {
    seen.length = 0;
    await runIn(dirA);
    await runIn(dirB);
    await sleep(300); // two ring drains and the stream
    return { a: seen.filter((e) => e.cgroupId === idA).length, b: seen.filter((e) => e.cgroupId === idB).length };
  };

  before(async () => {
    mkdirSync(dirA, { recursive: true });
    mkdirSync(dirB, { recursive: true });
    idA = statSync(dirA).ino;
    idB = statSync(dirB).ino;
    copyFileSync('/bin/true', join(bin, prog));
    chmodSync(join(bin, prog), 0o755);
    agent = await createAgent({ config: keepA, log: (l) => logs.push(l) });
    // The exported view only: a subscriber to every process record would suspend the filter.
    const res = await fetch(`${agent.url}/stream?probe=process&kept=true`, { signal: abort.signal, headers: { authorization: `Bearer ${localCredential('agent').token}` } });
    assert.equal(res.status, 200);
    readNdjson(res, (l) => {
      const line = l as Line;
      if (line.stream === undefined) seen.push(line);
    });
    await sleep(200);
  });

  after(async () => {
    abort.abort();
    await agent?.shutdown();
    rmSync(bin, { recursive: true, force: true });
    await sleep(50);
    for (const d of [dirA, dirB, `${root}${base}`]) {
      try { if (existsSync(d)) rmdirSync(d); } catch { /* a child still exiting */ }
    }
  });

  test('allow list: only the kept cgroup\'s records leave the kernel', async () => {
    const plan = agent.plan().cgroupFilters.find((c) => c.probe === 'process');
    assert.equal(plan?.mode, 'allow', JSON.stringify(agent.plan().cgroupFilters));
    const before = filtered('cgroup_not_allowed');
    const watched = droppedBy('watch-b');
    const n = await round();
    assert.ok(n.a >= 4, `cgroup a: fork, execs and exits arrive (${n.a})`);
    assert.equal(n.b, 0);
    assert.equal(droppedBy('watch-b'), watched, 'no record of cgroup b reached user space');
    // b's shell exit, two forks, two execs and two exits at least, besides everything else on the host.
    assert.ok(filtered('cgroup_not_allowed') - before >= 7, `filtered in the kernel: ${filtered('cgroup_not_allowed') - before}`);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    assert.match(text, /^maxpro_policy_kernel_filtered_events_total\{probe="process",reason="cgroup_not_allowed"\} [1-9]/m);
    assert.match(text, /^maxpro_policy_cgroup_filter_mode\{probe="process",mode="allow"\} 1/m);
    assert.match(text, /^maxpro_policy_cgroup_filter_suspended\{probe="process"\} 0/m);
    // Explain for the running agent: the rule runs in the kernel, with the list's size.
    const rule = agent.plan().rules.find((r) => r.rule === 'keep-a');
    assert.match(JSON.stringify(rule?.parts), /kernel.*cgroup allow list \(\d+ cgroups\)/);
  });

  test('a process subscriber turns the filter off while attached; the list is back after it leaves', async () => {
    const events: LiveStreamEvent[] = [];
    // Resolves once the agent has turned the filter off for it.
    const sub = await openLiveStream({ url: agent.url, filter: { probe: 'process' }, onEvent: (e) => events.push(e), connectTimeoutMs: 5000 });
    try {
      assert.equal(gauge('maxpro_policy_cgroup_filter_suspended', { probe: 'process' }), 1);
      assert.equal(gauge('maxpro_policy_cgroup_filter_mode', { probe: 'process', mode: 'off' }), 1);
      assert.match(JSON.stringify(agent.plan().rules.find((r) => r.rule === 'keep-a')?.parts), /user space.*suspended while live-stream subscribers/);
      const before = filtered('cgroup_not_allowed');
      const watched = droppedBy('watch-b');
      await runIn(dirB, join(bin, prog));
      assert.ok(await waitFor(() => events.some((e) => e.name === 'process.exec' && e.comm === prog && e.cgroupId === idB), 3000),
        `the subscriber got the exec in cgroup b (${events.length} events)`);
      await sleep(300); // the exits too
      assert.equal(filtered('cgroup_not_allowed'), before, 'nothing filtered in the kernel while attached');
      assert.ok(droppedBy('watch-b') - watched >= 4, 'b\'s records reached user space, where the policy still drops them');
      assert.equal(seen.filter((e) => e.cgroupId === idB).length, 0, 'and exports none of them');
    } finally {
      sub.close();
      await sub.done;
    }
    assert.ok(await waitFor(() => gauge('maxpro_policy_cgroup_filter_mode', { probe: 'process', mode: 'allow' }) === 1, 3000), 'the allow list is back');
    assert.equal(gauge('maxpro_policy_cgroup_filter_suspended', { probe: 'process' }), 0);
    const before = filtered('cgroup_not_allowed');
    const watched = droppedBy('watch-b');
    await runIn(dirB, join(bin, prog));
    await sleep(300);
    assert.equal(droppedBy('watch-b'), watched, 'b is filtered in the kernel again');
    assert.ok(filtered('cgroup_not_allowed') - before >= 7, `filtered in the kernel: ${filtered('cgroup_not_allowed') - before}`);
    assert.match(logs.join('\n'), /process: kernel cgroup filter off for live-stream subscribers \(the policy's allow list is suspended\)/);
    assert.match(logs.join('\n'), /process: kernel cgroup filter back to the policy's setting: allow: cgroup allow list/);
  });

  test('hot reload to a deny list: the dropped cgroup is filtered, the other arrives', async () => {
    await agent.reload(dropB);
    assert.equal(agent.plan().cgroupFilters.find((c) => c.probe === 'process')?.mode, 'deny');
    const before = filtered('cgroup_denied');
    const quiet = droppedBy('quiet-b');
    const n = await round();
    assert.ok(n.a >= 4, `cgroup a arrives (${n.a})`);
    assert.equal(droppedBy('quiet-b'), quiet, 'cgroup b filtered in the kernel');
    assert.ok(filtered('cgroup_denied') - before >= 7, `denied in the kernel: ${filtered('cgroup_denied') - before}`);
  });

  test('hot reload flips the list to the other cgroup, then to no filter at all', async () => {
    await agent.reload(dropA);
    const quiet = droppedBy('quiet-a');
    let n = await round();
    assert.equal(droppedBy('quiet-a'), quiet, 'now a is denied');
    assert.ok(n.b >= 4, `and b arrives (${n.b})`);

    await agent.reload(noPush);
    const plan = agent.plan().cgroupFilters.find((c) => c.probe === 'process');
    assert.equal(plan?.mode, 'off');
    assert.match(plan?.reason ?? '', /keep rule exits can match any cgroup/);
    const before = filtered('cgroup_denied') + filtered('cgroup_not_allowed');
    n = await round();
    assert.ok(n.a >= 4 && n.b >= 4, `both arrive with the filter off (a ${n.a}, b ${n.b})`);
    assert.equal(filtered('cgroup_denied') + filtered('cgroup_not_allowed'), before, 'nothing filtered in the kernel');
    assert.ok(await waitFor(() => agent.stats().reloads.ok === 3, 1000));
  });
});
