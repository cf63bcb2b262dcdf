// SPDX-License-Identifier: Apache-2.0
// A process's workload from every line of /proc/<pid>/cgroup and from
// /proc/<pid>/mountinfo: one fixture per form a node meets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifyCgroupPath } from '../../../src/enrich/container-identity.js';
import { createProcIdentity, procWorkload } from '../../../src/enrich/proc-identity.js';

const ID = 'b43d92bf1e5c6f78bb9b7bc6f40721280299855ba692092716e3a1b6c0b86f3f';
const ID2 = '17db96a24ae1e9dd57143e62b1cb0d2d35e693c65c774c7470e87b0572e07c1a';
const POD = '6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e';
const TASK = '3e5c2f1a9b8d4c7e6f5a4b3c2d1e0f9a';

/** A mountinfo line: `id parent major:minor root mountpoint options - fstype source superoptions`. */
const mi = (root: string, point: string, fs = 'ext4', src = '/dev/vda1'): string => `1234 1200 254:1 ${root} ${point} rw,relatime master:1 - ${fs} ${src} rw`;
const BASE_MOUNTS = [
  '1200 1100 0:52 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
  '1201 1200 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '1202 1200 0:56 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw',
].join('\n');

interface Case {
  name: string;
  cgroup: string;
  mountinfo?: string;
  kind?: string; id?: string; runtime?: string; podUid?: string; path?: string;
}

const CASES: Case[] = [
  {
    name: 'v1 controller lines only carry the docker id (no name=systemd)',
    cgroup: `11:cpu,cpuacct:/docker/${ID}\n10:memory:/docker/${ID}\n9:pids:/\n`,
    kind: 'docker', id: ID, runtime: 'docker', path: `/docker/${ID}`,
  },
  {
    name: 'v1 freezer line names a kubepods container while name=systemd is at the root',
    cgroup: `4:freezer:/kubepods/burstable/pod${POD}/${ID2}\n3:cpu:/\n1:name=systemd:/\n`,
    kind: 'docker', id: ID2, podUid: POD, path: `/kubepods/burstable/pod${POD}/${ID2}`,
  },
  {
    name: 'a container on a controller line wins over a service on name=systemd',
    cgroup: `7:cpu,cpuacct:/docker/${ID}\n1:name=systemd:/system.slice/docker.service\n`,
    kind: 'docker', id: ID, path: `/docker/${ID}`,
  },
  {
    name: 'a service everywhere stays the service',
    cgroup: '11:freezer:/\n8:memory:/init.scope\n1:name=systemd:/system.slice/springboot.service\n',
    kind: 'systemd_service', id: '/system.slice/springboot.service',
  },
  {
    name: '65 hex digits are not a container id',
    cgroup: `0::/docker/${ID}a\n`,
    kind: undefined,
  },
  {
    name: 'ECS on EC2: /ecs/<task>/<docker id>',
    cgroup: `0::/ecs/${TASK}/${ID}\n`,
    kind: 'ecs', id: ID, runtime: 'docker',
  },
  {
    name: 'ECS on Fargate: /ecs/<task>/<task>-<n>',
    cgroup: `0::/ecs/${TASK}/${TASK}-1234567890\n`,
    kind: 'ecs', id: `${TASK}-1234567890`, runtime: 'containerd',
  },
  {
    name: 'a bare /<64 hex> cgroup',
    cgroup: `0::/${ID}\n`,
    kind: 'container', id: ID, runtime: undefined,
  },
  {
    name: 'a custom cgroup parent',
    cgroup: `0::/acme/runtime/${ID}\n`,
    kind: 'container', id: ID,
  },
  {
    name: 'a custom runtime scope',
    cgroup: `0::/system.slice/acme-${ID}.scope\n`,
    kind: 'container', id: ID,
  },
  {
    name: 'cgroup namespace: 0::/, docker bind mounts name the container',
    cgroup: '0::/\n',
    mountinfo: `${BASE_MOUNTS}\n${mi(`/var/lib/docker/containers/${ID}/resolv.conf`, '/etc/resolv.conf')}\n${mi(`/var/lib/docker/containers/${ID}/hostname`, '/etc/hostname')}\n`,
    kind: 'docker', id: ID, runtime: 'docker',
  },
  {
    name: 'cgroup namespace: a cgroup2 mount whose root the kernel shows below ours',
    cgroup: '0::/\n',
    mountinfo: `${mi('/', '/')}\n${mi(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, '/sys/fs/cgroup', 'cgroup2', 'cgroup')}\n`,
    kind: 'containerd', id: ID, runtime: 'containerd', podUid: POD,
  },
  {
    name: 'cgroup namespace: kubelet etc-hosts names the pod',
    cgroup: '0::/\n',
    mountinfo: `${BASE_MOUNTS}\n${mi(`/var/lib/kubelet/pods/${POD}/etc-hosts`, '/etc/hosts')}\n${mi(`/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/${ID2}/hostname`, '/etc/hostname')}\n`,
    kind: 'sandbox', id: '', podUid: POD,
  },
  {
    name: 'cgroup namespace: podman userdata names the container',
    cgroup: '0::/\n',
    mountinfo: `${BASE_MOUNTS}\n${mi(`/var/lib/containers/storage/overlay-containers/${ID}/userdata/hostname`, '/etc/hostname')}\n`,
    kind: 'podman', id: ID, runtime: 'podman',
  },
  {
    name: 'a mount point with an escaped space is read as one field',
    cgroup: '0::/\n',
    mountinfo: `${mi(`/srv/my\\040data/containers/${ID}/hostname`, '/etc/hostname')}\n`,
    kind: 'docker', id: ID,
  },
  {
    name: 'cgroup namespace with nothing in the mounts: unnamed',
    cgroup: '0::/\n',
    mountinfo: `${BASE_MOUNTS}\n`,
    kind: undefined,
  },
  {
    name: 'a path that names no workload: the mounts are not consulted',
    cgroup: '0::/user.slice/user-0.slice/session-3.scope\n',
    mountinfo: `${mi(`/var/lib/docker/containers/${ID}/hostname`, '/etc/hostname')}\n`,
    kind: undefined,
  },
  {
    name: 'a login session is no workload',
    cgroup: '0::/user.slice/user-0.slice/session-3.scope\n',
    mountinfo: `${BASE_MOUNTS}\n`,
    kind: undefined,
  },
];

describe('proc identity: every /proc/<pid>/cgroup line and mountinfo', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const w = procWorkload(c.cgroup, c.mountinfo ?? '');
      if (c.kind === undefined) {
        assert.equal(w, undefined, JSON.stringify(w));
        return;
      }
      assert.ok(w, 'a workload');
      assert.equal(w.identity.kind, c.kind);
      if (c.id !== undefined) assert.equal(w.identity.id, c.id);
      if ('runtime' in c) assert.equal(w.identity.runtime, c.runtime);
      assert.equal(w.identity.podUid, c.podUid);
      if (c.path !== undefined) assert.equal(w.path, c.path);
    });
  }

  test('ids are anchored in every runtime form', () => {
    for (const p of [`/docker/${ID}0`, `/system.slice/docker-${ID}ff.scope`, `/kubepods/pod${POD}/crio-${ID}0.scope`]) {
      const id = identifyCgroupPath(p);
      assert.notEqual(id.id, ID, p);
    }
  });
});

describe('proc identity: reading /proc', () => {
  test('reads cgroup first, mountinfo when it names nothing, remembers and forgets', () => {
    const root = mkdtempSync(join(tmpdir(), 'mpx-proc-'));
    try {
      mkdirSync(join(root, '10'));
      writeFileSync(join(root, '10', 'cgroup'), `5:memory:/docker/${ID}\n`);
      mkdirSync(join(root, '11'));
      writeFileSync(join(root, '11', 'cgroup'), '0::/\n');
      writeFileSync(join(root, '11', 'mountinfo'), `${mi(`/var/lib/docker/containers/${ID2}/hostname`, '/etc/hostname')}\n`);
      const p = createProcIdentity({ procRoot: root, maxEntries: 2 });
      assert.equal(p.identify(10)?.identity.id, ID);
      assert.equal(p.identify(11)?.identity.id, ID2);
      assert.equal(p.identify(12), undefined, 'a process that is gone');
      assert.equal(p.size(), 2, 'a gone process is not remembered');
      // Remembered: the file changing does not matter until the process exits.
      writeFileSync(join(root, '10', 'cgroup'), '0::/\n');
      assert.equal(p.identify(10)?.identity.id, ID);
      // An exec reads again.
      writeFileSync(join(root, '10', 'cgroup'), `5:memory:/docker/${ID2}\n`);
      assert.equal(p.identify(10, true)?.identity.id, ID2);
      p.forget(10);
      writeFileSync(join(root, '10', 'cgroup'), '0::/\n');
      assert.equal(p.identify(10), undefined, 'forgotten: read again, names nothing now');
      mkdirSync(join(root, '13'));
      writeFileSync(join(root, '13', 'cgroup'), `0::/${ID2}\n`);
      p.identify(13);
      assert.ok(p.size() <= 2, 'bounded');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
