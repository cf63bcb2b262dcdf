// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createK8sMetadata, kubernetesConfigured, podMetadataFromPod } from '../../../src/enrich/k8s-metadata.js';
import { startKubeApi } from '../../helpers/kube-api.js';
import type { KubePod } from '../../helpers/kube-api.js';
import { waitFor } from '../../helpers/kernel.js';

describe('kubernetes pod metadata', () => {
  test('maps a pod to name, namespace, labels, node and its Deployment', () => {
    const m = podMetadataFromPod({
      metadata: {
        uid: 'u-1', name: 'web-7d9f8b6c5-x2x9z', namespace: 'prod', labels: { 'app': 'web', 'pod-template-hash': '7d9f8b6c5' },
        ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9f8b6c5', controller: true }],
      },
      spec: { nodeName: 'node-a' },
    });
    assert.deepEqual(m, {
      uid: 'u-1', name: 'web-7d9f8b6c5-x2x9z', namespace: 'prod', nodeName: 'node-a',
      labels: { 'app': 'web', 'pod-template-hash': '7d9f8b6c5' }, workload: { kind: 'Deployment', name: 'web' },
    });
  });
  test('StatefulSet and CronJob owners', () => {
    assert.deepEqual(podMetadataFromPod({ metadata: { uid: 'u', name: 'db-0', namespace: 'd', ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] } })?.workload,
      { kind: 'StatefulSet', name: 'db' });
    assert.deepEqual(podMetadataFromPod({ metadata: { uid: 'u', name: 'b-28401-x', namespace: 'd', ownerReferences: [{ kind: 'Job', name: 'backup-28401234', controller: true }] } })?.workload,
      { kind: 'CronJob', name: 'backup' });
  });
  test('a pod without uid is ignored', () => {
    assert.equal(podMetadataFromPod({ metadata: { name: 'x', namespace: 'y' } }), undefined);
  });
  test('without a cluster the step is skipped and says so once', { skip: kubernetesConfigured() ? 'a cluster is configured here' : false }, async () => {
    const notices: string[] = [];
    const k = createK8sMetadata({ onNotice: (m) => notices.push(m) });
    assert.equal(await k.start(), false);
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /no cluster configured.*skipped/);
    assert.equal(k.lookup('anything'), undefined);
    await k.close();
  });
  test('a missing kubeconfig is refused', () => {
    assert.throws(() => createK8sMetadata({ kubeconfig: '/nonexistent/kubeconfig' }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });
});

describe('kubernetes pod metadata over list and watch', () => {
  const pod = (n: number, extra: Partial<KubePod> = {}): KubePod => ({ uid: `uid-${n}`, name: `p-${n}`, namespace: 'ns', nodeName: 'n1', labels: { i: String(n) }, ...extra });

  test('lists this node\'s pods, follows the watch, and says which pod changed', async () => {
    const api = await startKubeApi([pod(1), pod(2, { nodeName: 'n2' })]);
    const changed: string[] = [];
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: api.kubeconfig, nodeName: 'n1', onChange: (u) => changed.push(u), onNotice: (m) => notices.push(m) });
    try {
      assert.equal(await k.start(), true);
      assert.deepEqual(k.stats(), { state: 'watching', pods: 1, overflow: 0, errors: 0 });
      assert.deepEqual(k.lookup('uid-1')?.labels, { i: '1' });
      assert.equal(k.lookup('uid-2'), undefined, 'another node\'s pod is not listed');
      assert.deepEqual(changed, ['uid-1']);
      assert.deepEqual(notices, ['kubernetes: watching pods on node n1 (1 now)']);
      assert.ok(await waitFor(() => api.requests.some((r) => r.includes('watch=true')), 3000));
      api.put(pod(3, { owner: { kind: 'StatefulSet', name: 'db' } }));
      const before = k.lookup('uid-1');
      api.put(pod(1)); // a status-only update: nothing kept changes
      api.put(pod(1, { labels: { i: 'one' } }));
      assert.ok(await waitFor(() => k.lookup('uid-1')?.labels.i === 'one', 3000));
      assert.notEqual(k.lookup('uid-1'), before);
      assert.deepEqual(k.lookup('uid-3')?.workload, { kind: 'StatefulSet', name: 'db' });
      api.remove('uid-3');
      assert.ok(await waitFor(() => k.lookup('uid-3') === undefined, 3000));
      assert.deepEqual(changed, ['uid-1', 'uid-3', 'uid-1', 'uid-3']);
    } finally {
      await k.close();
      await api.close();
    }
    assert.equal(k.stats().errors, 0, 'closing is not a watch error');
  });

  test('maxPods bounds the table; the rest are counted', async () => {
    const api = await startKubeApi([pod(1), pod(2), pod(3)]);
    const k = createK8sMetadata({ kubeconfig: api.kubeconfig, nodeName: 'n1', maxPods: 2 });
    try {
      await k.start();
      assert.deepEqual(k.stats(), { state: 'watching', pods: 2, overflow: 1, errors: 0 });
    } finally {
      await k.close();
      await api.close();
    }
  });

  test('an API server that refuses the list: one line with the reason, counted, retried until it answers', async () => {
    const api = await startKubeApi([pod(1)]);
    api.refuse(403, 2);
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: api.kubeconfig, nodeName: 'n1', onNotice: (m) => notices.push(m) });
    try {
      assert.equal(await k.start(), true);
      assert.equal(k.stats().state, 'error');
      assert.deepEqual(notices, ['kubernetes: pod watch failed: HTTP 403 Forbidden: test: Forbidden (the agent\'s account needs get, list and watch on pods) (retrying in 1 s)']);
      // Refused once more after 1 s, then listed after 2 s more.
      assert.ok(await waitFor(() => k.stats().state === 'watching', 6000), notices.join(' | '));
      assert.equal(k.stats().errors, 2);
      assert.equal(notices[1], 'kubernetes: pod watch failed: HTTP 403 Forbidden: test: Forbidden (the agent\'s account needs get, list and watch on pods) (retrying in 2 s)');
      assert.equal(notices[2], 'kubernetes: pod list on node n1 recovered (1 pods)');
      assert.ok(await waitFor(() => k.lookup('uid-1') !== undefined, 3000));
    } finally {
      await k.close();
      await api.close();
    }
  });

  test('a broken watch is restarted: changes made meanwhile arrive', async () => {
    const api = await startKubeApi([pod(1), pod(2)]);
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: api.kubeconfig, nodeName: 'n1', onNotice: (m) => notices.push(m) });
    try {
      await k.start();
      assert.ok(await waitFor(() => api.requests.some((r) => r.includes('watch=true')), 3000));
      const watches = (): number => api.requests.filter((r) => r.includes('watch=true')).length;
      const before = watches();
      api.dropWatches();
      api.remove('uid-2'); // while no watch is open: only a fresh list or watch from the old version sees it
      api.put(pod(3));
      assert.ok(await waitFor(() => k.lookup('uid-3') !== undefined && k.lookup('uid-2') === undefined, 6000),
        `${JSON.stringify(k.stats())} ${notices.join(' | ')} ${api.requests.join(' ')}`);
      // The fresh list lands the changes before the new watch request goes out: wait for that request.
      assert.ok(await waitFor(() => watches() > before && k.stats().state === 'watching', 3000),
        `watches ${watches()} (before ${before}), state ${k.stats().state}`);
      assert.match(notices.join('\n'), /kubernetes: pod watch failed: .* \(retrying in 1 s\)\nkubernetes: pod list on node n1 recovered \(2 pods\)/);
    } finally {
      await k.close();
      await api.close();
    }
  });
});
