// SPDX-License-Identifier: Apache-2.0
// Container identity against a reference node agent's own cgroup cases
// (expectations.json in the shared test data), plus runtimes and pod UIDs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cgroupPathFromProcFile, identifyCgroupPath, podFromCgroupPath, unescapeSystemd,
} from '../../../src/enrich/container-identity.js';
import { sharedTestdata } from '../../helpers/testdata.js';

interface Expectations {
  proc_cgroup_files: { file: string; shape: string; cgroup_id: string | null; container_id: string | null; container_type: string | null }[];
  cgroup_paths: { path: string; container_type: string; container_id: string }[];
}

const { dir, skip } = sharedTestdata('cgroup', 'coroot-node-agent');
const exp: Expectations = skip ? { proc_cgroup_files: [], cgroup_paths: [] } : JSON.parse(readFileSync(join(dir, 'expectations.json'), 'utf8')) as Expectations;

describe('container identity: expectations.json', { skip }, () => {
  test('has the cases', () => {
    assert.ok(exp.proc_cgroup_files.length >= 10);
    assert.ok(exp.cgroup_paths.length >= 20);
  });
  for (const c of exp.proc_cgroup_files) {
    if (c.cgroup_id === null) continue; // a stats-only fixture
    test(`${c.file}: ${c.shape}`, () => {
      const content = readFileSync(join(dir, c.file), 'utf8');
      // The agent of the reference case runs in a kubepods docker scope (fixture 500).
      const base = '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8712f785_1a3e_41ec_a00b_e2dcc77431cb.slice/docker-73051af271105c07e1f493b34856a77e665e3b0b4fc72f76c807dfbffeb881bd.scope';
      const path = cgroupPathFromProcFile(content, base);
      assert.equal(path, c.cgroup_id);
      const id = identifyCgroupPath(path!);
      assert.equal(id.kind, c.container_type);
      assert.equal(id.id, c.container_id);
    });
  }
  for (const c of exp.cgroup_paths) {
    test(`path ${c.path}`, () => {
      const id = identifyCgroupPath(c.path);
      assert.equal(id.kind, c.container_type);
      assert.equal(id.id, c.container_id);
    });
  }
});

describe('container identity: runtimes and pods', () => {
  const hex = 'c74b0f5062f0bc726cae1e9369ad4a95deed6b298d247f0407475adb23fa3190';
  const cases: { name: string; path: string; runtime?: string; id: string; podUid?: string; qos?: string }[] = [
    { name: 'containerd, systemd driver', path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c3d4e_0000_4aaa_8bbb_123456789abc.slice/cri-containerd-${hex}.scope`, runtime: 'containerd', id: hex, podUid: '1b2c3d4e-0000-4aaa-8bbb-123456789abc', qos: 'besteffort' },
    { name: 'containerd, cgroupfs driver', path: `/kubepods/burstable/pod1b2c3d4e-0000-4aaa-8bbb-123456789abc/${hex}`, runtime: 'docker', id: hex, podUid: '1b2c3d4e-0000-4aaa-8bbb-123456789abc', qos: 'burstable' },
    { name: 'containerd, systemd-in-service form', path: `/system.slice/containerd.service/kubepods-burstable-pod4ed02c0b_0df8_4d14_a30e_fd589ee4143a.slice:cri-containerd:${hex}`, runtime: 'containerd', id: hex, podUid: '4ed02c0b-0df8-4d14-a30e-fd589ee4143a', qos: 'burstable' },
    { name: 'CRI-O, guaranteed pod', path: `/kubepods.slice/kubepods-pod9d0e1f2a_3b4c_4d5e_8f60_718293a4b5c6.slice/crio-${hex}.scope`, runtime: 'cri-o', id: hex, podUid: '9d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6', qos: 'guaranteed' },
    { name: 'docker, systemd driver', path: `/system.slice/docker-${hex}.scope`, runtime: 'docker', id: hex },
    { name: 'podman, systemd', path: `/machine.slice/libpod-${hex}.scope/container`, runtime: 'podman', id: hex },
    { name: 'podman, cgroupfs', path: `/libpod_parent/libpod-${hex}`, runtime: 'podman', id: hex },
    { name: 'pod sandbox cgroup', path: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice', id: '', podUid: '2942c55e-c9cb-428a-93f4-eaf89c1f3ce0', qos: 'burstable' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const id = identifyCgroupPath(c.path);
      assert.equal(id.runtime, c.runtime);
      assert.equal(id.id, c.id);
      assert.equal(id.podUid, c.podUid);
      assert.equal(id.qosClass, c.qos);
    });
  }
  test('systemd unescaping', () => {
    assert.equal(unescapeSystemd('system-serial\\x2dgetty.slice'), 'system-serial-getty.slice');
    assert.equal(unescapeSystemd('a\\x2fb'), 'a/b');
  });
  test('no pod outside kubepods', () => {
    assert.equal(podFromCgroupPath('/system.slice/ssh.service'), undefined);
  });
  test('hybrid /proc file: v2 line used when name=systemd is at the root', () => {
    assert.equal(cgroupPathFromProcFile(`1:name=systemd:/\n0::/system.slice/docker-${hex}.scope\n`), `/system.slice/docker-${hex}.scope`);
    assert.equal(cgroupPathFromProcFile('0::/\n'), undefined);
  });
});
