// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createK8sMetadata, kubernetesConfigured, podMetadataFromPod } from '../../../src/enrich/k8s-metadata.js';

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
// List, watch, RBAC refusals, watch timeouts and API server restarts: test/integration/enrich/k8s-metadata-api.test.ts
// (a real kube-apiserver, which produces every fault those tests need).
