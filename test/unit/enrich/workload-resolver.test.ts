// SPDX-License-Identifier: Apache-2.0
// The one cgroup -> workload resolution shared by process records, TCP
// aggregates and the agent's labels: the same labels for a cgroup everywhere.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { identifyCgroupPath } from '../../../src/enrich/container-identity.js';
import { createWorkloadResolver, shortWorkloadId, workloadIdentity } from '../../../src/enrich/workload-resolver.js';
import type { CgroupResolver } from '../../../src/enrich/cgroup-resolver.js';
import { createWorkloadLabeler, pathSubject } from '../../../src/agent/workload-labeler.js';
import type { PodMetadata } from '../../../src/enrich/k8s-metadata.js';
import { sharedTestdata } from '../../helpers/testdata.js';

interface Expectations { cgroup_paths: { path: string; container_type: string; container_id: string }[] }
const { dir, skip } = sharedTestdata('cgroup', 'coroot-node-agent');
const exp: Expectations = skip ? { cgroup_paths: [] } : JSON.parse(readFileSync(join(dir, 'expectations.json'), 'utf8')) as Expectations;
const HEX = 'c74b0f5062f0bc726cae1e9369ad4a95deed6b298d247f0407475adb23fa3190';
const POD = '1b2c3d4e-0000-4aaa-8bbb-123456789abc';

/** Ids 1.. for the fixture paths, as the cgroup resolver maps kernfs ids to paths. */
function fixtureResolver(paths: string[]): CgroupResolver & { calls: number } {
  const r = {
    calls: 0,
    resolve(id: number) { r.calls++; return paths[id - 1]; },
    stats: () => ({ resolved: 0, misses: 0, rescans: 0, entries: paths.length, evictions: 0 }),
  };
  return r as unknown as CgroupResolver & { calls: number };
}

describe('workload resolver', () => {
  const scenarios: { name: string; id: string; want: string }[] = [
    { name: 'a 64-hex container id is shortened as docker ps shows it', id: HEX, want: HEX.slice(0, 12) },
    { name: 'an LXC id is kept whole', id: '/lxc/web-frontend-01', want: '/lxc/web-frontend-01' },
    { name: 'a systemd unit is kept whole', id: '/system.slice/postgresql@15-main.service', want: '/system.slice/postgresql@15-main.service' },
    { name: 'no workload', id: '', want: '' },
  ];
  for (const s of scenarios) test(`container label: ${s.name}`, () => assert.equal(shortWorkloadId(s.id), s.want));

  test('pods are named by metadata when known, else by UID', () => {
    const path = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${HEX}.scope`;
    const ident = identifyCgroupPath(path);
    assert.deepEqual(workloadIdentity(path, ident), { container: HEX.slice(0, 12), pod: POD, namespace: '', cgroupPath: path });
    const pod = { uid: POD, name: 'api-7d9f', namespace: 'shop', labels: {}, nodeName: 'n1' };
    assert.deepEqual(workloadIdentity(path, ident, pod as never), { container: HEX.slice(0, 12), pod: 'api-7d9f', namespace: 'shop', cgroupPath: path });
  });

  test('every fixture path: the TCP labels and the agent labels agree', { skip }, () => {
    const paths = exp.cgroup_paths.map((c) => c.path);
    const resolver = createWorkloadResolver({ cgroups: fixtureResolver(paths) });
    const labeler = createWorkloadLabeler({ workloads: [], cgroups: fixtureResolver(paths) });
    for (const [i, c] of exp.cgroup_paths.entries()) {
      const got = resolver.identify(i + 1);
      assert.deepEqual(labeler.identity(i + 1), got, c.path);
      assert.equal(got.cgroupPath, c.path);
      assert.equal(got.container, shortWorkloadId(c.container_id), c.path);
    }
  });

  test('bounded memo; unknown ids are not memoised (the resolver rescans for them)', () => {
    const cg = fixtureResolver(['/a.slice', '/b.slice', '/c.slice']);
    const r = createWorkloadResolver({ cgroups: cg, maxEntries: 2 });
    r.identify(1); r.identify(1);
    assert.equal(cg.calls, 1);
    r.identify(2); r.identify(3); // evicts 1
    r.identify(1);
    assert.equal(cg.calls, 4);
    assert.deepEqual(r.identify(99), { container: '', pod: '', namespace: '', cgroupPath: '' });
    r.identify(99);
    assert.equal(cg.calls, 6);
  });
});

describe('agent labeler with pod metadata', () => {
  const path = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${HEX}.scope`;
  const meta = (labels: Record<string, string>): PodMetadata => ({ uid: POD, name: 'api-7d9f-x1', namespace: 'shop', labels, workload: { kind: 'Deployment', name: 'api' } });
  const workloads = [{ cgroup: '/kubepods.slice', labels: { tier: 'k8s', app: 'from-config' } }];

  test('selectors see the pod\'s labels, namespace and owner; `workloads` labels win on the same key', () => {
    const s = pathSubject(path, workloads, (uid) => (uid === POD ? meta({ app: 'api', team: 'core' }) : undefined));
    assert.deepEqual(s.labels, { app: 'from-config', team: 'core', tier: 'k8s' });
    assert.deepEqual(s.attributes, { cgroup: path, container: HEX, pod: POD, namespace: 'shop', workload: 'api' });
    assert.equal(s.podName, 'api-7d9f-x1');
    // Without metadata: the path alone.
    const bare = pathSubject(path, [], () => undefined);
    assert.deepEqual(bare, { labels: {}, attributes: { cgroup: path, container: HEX, pod: POD } });
  });

  test('a cached cgroup follows its pod\'s metadata as it arrives, changes and goes', () => {
    let current: PodMetadata | undefined;
    const cg = fixtureResolver([path]);
    const labeler = createWorkloadLabeler({ workloads: [], cgroups: cg, pods: () => current });
    assert.deepEqual(labeler.subject(1, 'sh').labels, {});
    assert.deepEqual(labeler.identity(1), { container: HEX.slice(0, 12), pod: POD, namespace: '', cgroupPath: path });
    current = meta({ app: 'api' });
    assert.deepEqual(labeler.subject(1, 'sh').labels, { app: 'api' });
    assert.deepEqual(labeler.identity(1), { container: HEX.slice(0, 12), pod: 'api-7d9f-x1', namespace: 'shop', cgroupPath: path });
    current = meta({ app: 'api', canary: 'true' });
    assert.deepEqual(labeler.subject(1, 'sh').labels, { app: 'api', canary: 'true' });
    current = undefined;
    assert.deepEqual(labeler.subject(1, 'sh').attributes, { cgroup: path, container: HEX, pod: POD, comm: 'sh' });
    // The path is resolved once; only the derived labels are rebuilt.
    assert.equal(cg.calls, 4);
    labeler.subject(1, 'sh');
    assert.equal(cg.calls, 4, 'an unchanged pod is served from the cache');
  });
});
