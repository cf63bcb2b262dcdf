// SPDX-License-Identifier: Apache-2.0
// Real namespaces: a process in its own cgroup namespace sees only `0::/`
// in /proc/self/cgroup; the mounts a runtime gives it still name its
// container. And a process under a custom cgroup parent is named from the
// host's view of /proc/<pid>/cgroup.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import { createProcIdentity, procWorkload } from '../../../src/enrich/proc-identity.js';

const hasUnshare = ((): boolean => {
  try {
    execFileSync('unshare', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = kernelSkip() || (findCgroup2Mount() ? false : 'no cgroup2 mount') || (hasUnshare ? false : 'unshare (util-linux) not installed');

describe('proc identity in real namespaces', { skip, timeout: 30_000 }, () => {
  const cgRoot = findCgroup2Mount()!;
  const id = randomBytes(32).toString('hex');
  const parent = join(cgRoot ?? '/', `mpx-custom-${process.pid}`);
  const leaf = join(parent, id);
  const scratch = mkdtempSync(join(tmpdir(), 'mpx-ns-'));
  after(async () => {
    await sleep(50);
    for (const d of [leaf, parent]) {
      try { rmdirSync(d); } catch { /* busy or gone */ }
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  test('a container in its own cgroup namespace is named from its mounts', () => {
    mkdirSync(leaf, { recursive: true });
    const hostnameDir = join(scratch, 'docker', 'containers', id);
    mkdirSync(hostnameDir, { recursive: true });
    writeFileSync(join(hostnameDir, 'hostname'), 'c1\n');
    // Into the cgroup first, then a new cgroup and mount namespace: the
    // process's own view of its cgroup is the namespace root.
    const script = `echo $$ > ${leaf}/cgroup.procs && exec unshare --cgroup --mount --propagation private sh -c `
      + `'mount --bind ${hostnameDir}/hostname /etc/hostname && cat /proc/self/cgroup && echo ===== && cat /proc/self/mountinfo'`;
    const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    const [cgroupFile, mountinfo] = out.split('=====\n');
    // Every line (v2, and v1 controllers on a hybrid host) at the namespace root.
    const lines = cgroupFile!.trim().split('\n');
    assert.ok(lines.includes('0::/') && lines.every((l) => l.endsWith(':/')), `the namespace hides the path:\n${cgroupFile}`);
    const w = procWorkload(cgroupFile!, mountinfo!);
    assert.ok(w, `named from mountinfo:\n${mountinfo}`);
    assert.equal(w.identity.kind, 'docker');
    assert.equal(w.identity.id, id);
  });

  test('from the host, a custom cgroup parent with a 64-hex leaf is a container', async () => {
    mkdirSync(leaf, { recursive: true });
    const child = spawn('sh', ['-c', `echo $$ > ${leaf}/cgroup.procs && exec sleep 5`], { stdio: 'ignore' });
    try {
      const pid = child.pid!;
      assert.ok(await waitFor(() => existsSync(`/proc/${pid}`) && procWorkload(readCgroup(pid), '') !== undefined, 3000));
      const w = createProcIdentity().identify(pid);
      assert.ok(w);
      assert.equal(w.identity.kind, 'container');
      assert.equal(w.identity.id, id);
      assert.equal(w.path, `/${parent.slice(cgRoot.length + 1)}/${id}`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

function readCgroup(pid: number): string {
  try {
    return execFileSync('cat', [`/proc/${pid}/cgroup`], { encoding: 'utf8' });
  } catch {
    return '';
  }
}
