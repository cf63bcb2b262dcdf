// SPDX-License-Identifier: Apache-2.0
// Processes placed in real cgroup v2 directories named like a containerd pod
// and a CRI-O pod resolve, from the cgroup id the kernel reports, to the
// right container runtime, container id and pod UID.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import { createProcessPipeline } from '../../../src/probes/process/process-pipeline.js';
import type { ProcessRecord } from '../../../src/probes/process/process-schema.js';

const skip = kernelSkip() || (findCgroup2Mount() ? false : 'no cgroup2 mount');

interface Placement {
  name: string;
  runtime: string;
  dirs(podUid: string, id: string): string[];
}

const PLACEMENTS: Placement[] = [
  {
    name: 'containerd, systemd driver',
    runtime: 'containerd',
    dirs: (uid, id) => ['kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice`, `cri-containerd-${id}.scope`],
  },
  {
    name: 'CRI-O, systemd driver',
    runtime: 'cri-o',
    dirs: (uid, id) => ['kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`, `crio-${id}.scope`],
  },
];

describe('process pipeline: container and pod identity from real cgroups', { skip, timeout: 60_000 }, () => {
  const root = findCgroup2Mount()!;
  const created: string[] = [];
  after(async () => {
    // Children have exited; remove the leaves first.
    await sleep(50);
    for (const d of created.reverse()) {
      try { rmdirSync(d); } catch { /* still busy or shared */ }
    }
  });

  for (const p of PLACEMENTS) {
    test(p.name, async () => {
      const podUid = randomUUID();
      const id = randomBytes(32).toString('hex');
      let dir = root;
      for (const part of p.dirs(podUid, id)) {
        dir = join(dir, part);
        if (!existsSync(dir)) {
          mkdirSync(dir);
          created.push(dir);
        }
      }
      const token = `mpx-cg-${process.pid}-${id.slice(0, 8)}`;
      const records: ProcessRecord[] = [];
      const pipeline = await createProcessPipeline({ kubernetes: false, onRecords: (r) => records.push(...r) });
      try {
        // The shell moves itself into the cgroup, then execs: the exec happens inside it.
        const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec /bin/sleep 0.05 ${token}`], { stdio: 'ignore' });
        const code = await new Promise<number | null>((r) => child.on('close', r));
        assert.equal(code, 1, 'sleep rejects the extra operand, after the exec');
        const found = await waitFor(() => records.some((r) => r['process.command_args']?.includes(token)), 3000);
        assert.ok(found, 'exec event seen');
      } finally {
        await pipeline.close();
      }
      const r = records.find((x) => x['event.name'] === 'process.exec' && x['process.command_args']?.includes(token))!;
      assert.equal(r['container.runtime'], p.runtime);
      assert.equal(r['container.id'], id);
      assert.equal(r['k8s.pod.uid'], podUid);
      assert.equal(r['process.linux.cgroup'], `/${p.dirs(podUid, id).join('/')}`);
      const exit = records.find((x) => x['event.name'] === 'process.exit' && x['process.pid'] === r['process.pid']);
      assert.equal(exit?.['container.id'], id, 'the exit is attributed to the container too');
    });
  }

  // A hybrid host: the v2 hierarchy keeps every process at its root, the
  // container's id is on the v1 controller lines only (`N:cpu:/docker/<id>`).
  const v1 = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '))
    .find((f) => f[2] === 'cgroup' && /(^|,)(pids|cpu)(,|$)/.test(f[3] ?? ''))?.[1];
  test('cgroup v1 controller lines name a docker container', { skip: v1 ? false : 'no cgroup v1 cpu or pids hierarchy mounted' }, async () => {
    const id = randomBytes(32).toString('hex');
    const dir = join(v1!, 'docker', id);
    mkdirSync(dir, { recursive: true });
    created.push(dir);
    const token = `mpx-v1-${process.pid}-${id.slice(0, 8)}`;
    const records: ProcessRecord[] = [];
    const pipeline = await createProcessPipeline({ kubernetes: false, onRecords: (r) => records.push(...r) });
    try {
      // The exec'd shell lives 0.5 s: its /proc files are read while it runs.
      const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec /bin/sh -c 'sleep 0.5' ${token}`], { stdio: 'ignore' });
      await new Promise((r) => child.on('close', r));
      assert.ok(await waitFor(() => records.some((r) => r['event.name'] === 'process.exit' && r['process.command_args']?.includes(token)), 3000)
        || records.some((r) => r['process.command_args']?.includes(token)), 'exec event seen');
    } finally {
      await pipeline.close();
    }
    const r = records.find((x) => x['event.name'] === 'process.exec' && x['process.command_args']?.includes(token))!;
    assert.equal(r['container.id'], id, JSON.stringify(r));
    assert.equal(r['container.runtime'], 'docker');
    assert.equal(r['process.linux.cgroup'], `/docker/${id}`);
  });
});
