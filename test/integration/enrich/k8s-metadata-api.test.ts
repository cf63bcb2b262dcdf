// SPDX-License-Identifier: Apache-2.0
// Pod metadata against a real kube-apiserver and etcd (test/helpers/kube-control-plane.ts): the list
// with the node's field selector, the watch, RBAC refusals, the server ending a watch at its request
// timeout and an API server restart, as the agent meets them in a cluster. No imitation of the API
// server is kept: the real one produces every fault these tests need.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createK8sMetadata } from '../../../src/enrich/k8s-metadata.js';
import { controlPlaneSkip, startControlPlane } from '../../helpers/kube-control-plane.js';
import type { ControlPlane } from '../../helpers/kube-control-plane.js';
import { waitFor } from '../../helpers/kernel.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const WATCH_TIMEOUT_S = 5;

describe('kubernetes pod metadata from a real API server', { skip: controlPlaneSkip(), timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let ns = 0;
  /** A fresh namespace per test, so each test sees only its own pods. */
  const namespace = async (): Promise<string> => {
    const name = `t${++ns}`;
    await cp.must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  };
  const createPod = async (nsName: string, name: string, node: string, labels: Record<string, string>, owner?: { kind: string; name: string }): Promise<string> => {
    const pod = await cp.must('POST', `/api/v1/namespaces/${nsName}/pods`, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name, labels,
        ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: '00000000-0000-4000-8000-0000000000ff', controller: true }] } : {}),
      },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'registry.invalid/x:1' }] },
    }) as { metadata: { uid: string } };
    return pod.metadata.uid;
  };
  const deletePod = (nsName: string, name: string): Promise<unknown> => cp.must('DELETE', `/api/v1/namespaces/${nsName}/pods/${name}?gracePeriodSeconds=0`);
  const relabel = (nsName: string, name: string, labels: Record<string, string>): Promise<unknown> =>
    cp.must('PATCH', `/api/v1/namespaces/${nsName}/pods/${name}`, { metadata: { labels } }, 'application/merge-patch+json');

  before(async () => {
    // The API server ends each watch after a random 5-10 s (default 30-60 min), as every cluster does.
    cp = await startControlPlane({ users: { [VIEWER]: ['viewer'] }, apiServerArgs: [`--min-request-timeout=${WATCH_TIMEOUT_S}`] });
  });
  /** Pod requests of one verb the API server has finished, from its own metrics. */
  const podRequests = async (verb: 'LIST' | 'WATCH'): Promise<number> => {
    const text = (await cp.api('GET', '/metrics')).text;
    let n = 0;
    for (const m of text.matchAll(/^apiserver_request_total\{([^}]*)\} (\d+)$/gm)) {
      if (m[1]!.includes(`verb="${verb}"`) && m[1]!.includes('resource="pods"')) n += Number(m[2]);
    }
    return n;
  };
  const watchesEnded = (): Promise<number> => podRequests('WATCH');
  after(async () => {
    await cp?.close();
  });

  test('lists this node\'s pods, follows the watch, and says which pod changed', async () => {
    const n = await namespace();
    const node = `${n}-node`;
    const u1 = await createPod(n, 'p-1', node, { i: '1' });
    const u2 = await createPod(n, 'p-2', `${n}-other-node`, { i: '2' });
    const changed: string[] = [];
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: cp.kubeconfig, nodeName: node, onChange: (u) => changed.push(u), onNotice: (m) => notices.push(m) });
    try {
      assert.equal(await k.start(), true);
      assert.deepEqual(k.stats(), { state: 'watching', pods: 1, overflow: 0, errors: 0 });
      assert.deepEqual(k.lookup(u1)?.labels, { i: '1' });
      assert.equal(k.lookup(u2), undefined, 'another node\'s pod is not listed');
      assert.deepEqual(changed, [u1]);
      assert.deepEqual(notices, [`kubernetes: watching pods on node ${node} (1 now)`]);
      const u3 = await createPod(n, 'p-3', node, { i: '3' }, { kind: 'StatefulSet', name: 'db' });
      assert.ok(await waitFor(() => k.lookup(u3) !== undefined, 5000), 'a pod created after the list arrives over the watch');
      assert.deepEqual(k.lookup(u3)?.workload, { kind: 'StatefulSet', name: 'db' });
      const before = k.lookup(u1);
      // An annotation-only update: nothing kept changes, the entry stays the same object.
      await cp.must('PATCH', `/api/v1/namespaces/${n}/pods/p-1`, { metadata: { annotations: { a: 'b' } } }, 'application/merge-patch+json');
      await relabel(n, 'p-1', { i: 'one' });
      assert.ok(await waitFor(() => k.lookup(u1)?.labels.i === 'one', 5000));
      assert.notEqual(k.lookup(u1), before);
      await deletePod(n, 'p-3');
      assert.ok(await waitFor(() => k.lookup(u3) === undefined, 5000));
      assert.deepEqual(changed, [u1, u3, u1, u3]);
    } finally {
      await k.close();
    }
    assert.equal(k.stats().errors, 0, 'closing is not a watch error');
  });

  test('maxPods bounds the table; the rest are counted', async () => {
    const n = await namespace();
    for (const i of [1, 2, 3]) await createPod(n, `p-${i}`, `${n}-node`, {});
    const k = createK8sMetadata({ kubeconfig: cp.kubeconfig, nodeName: `${n}-node`, maxPods: 2 });
    try {
      await k.start();
      assert.deepEqual(k.stats(), { state: 'watching', pods: 2, overflow: 1, errors: 0 });
    } finally {
      await k.close();
    }
  });

  test('an account without RBAC rights: one line with the reason, counted, retried until a binding grants the list', async () => {
    const n = await namespace();
    const uid = await createPod(n, 'p-1', `${n}-node`, {});
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: cp.kubeconfigFor(VIEWER), nodeName: `${n}-node`, onNotice: (m) => notices.push(m) });
    try {
      assert.equal(await k.start(), true);
      assert.equal(k.stats().state, 'error');
      assert.match(notices[0]!, /^kubernetes: pod watch failed: HTTP 403 Forbidden: pods is forbidden: User "viewer" cannot list resource "pods" .*\(the agent's account needs get, list and watch on pods\) \(retrying in 1 s\)$/);
      // Refused again after 1 s; the binding made then lets the retry 2 s later list.
      assert.ok(await waitFor(() => notices.length >= 2, 5000), notices.join(' | '));
      assert.match(notices[1]!, /HTTP 403 Forbidden: .*\(retrying in 2 s\)$/);
      await cp.must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'pod-reader' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      });
      await cp.must('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'viewer-pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pod-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }],
      });
      assert.ok(await waitFor(() => k.stats().state === 'watching', 8000), notices.join(' | '));
      assert.equal(k.stats().errors, 2);
      assert.equal(notices[2], `kubernetes: pod list on node ${n}-node recovered (1 pods)`);
      assert.ok(await waitFor(() => k.lookup(uid) !== undefined, 3000));
    } finally {
      await k.close();
    }
  });

  test('the API server ends the watch at its request timeout: watched again from where it was, no error, no fresh list', async () => {
    const n = await namespace();
    const node = `${n}-node`;
    const u1 = await createPod(n, 'p-1', node, { v: '0' });
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: cp.kubeconfig, nodeName: node, onNotice: (m) => notices.push(m) });
    try {
      await k.start();
      const [before, lists] = [await watchesEnded(), await podRequests('LIST')];
      // At most twice the minimum timeout, plus slack for a busy machine.
      const end = Date.now() + 4 * WATCH_TIMEOUT_S * 1000;
      while (await watchesEnded() <= before && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
      assert.ok(await watchesEnded() > before, 'the API server ended a pod watch');
      await relabel(n, 'p-1', { v: '1' });
      assert.ok(await waitFor(() => k.lookup(u1)?.labels['v'] === '1', 5000), 'a change after the timeout arrives over the next watch');
      assert.deepEqual(k.stats(), { state: 'watching', pods: 1, overflow: 0, errors: 0 });
      assert.deepEqual(notices, [`kubernetes: watching pods on node ${node} (1 now)`]);
      assert.equal(await podRequests('LIST'), lists, 'no list since the first');
    } finally {
      await k.close();
    }
  });

  test('an API server restart breaks the watch; it is restarted and changes made meanwhile arrive', async () => {
    const n = await namespace();
    const node = `${n}-node`;
    const u1 = await createPod(n, 'p-1', node, {});
    const u2 = await createPod(n, 'p-2', node, {});
    const notices: string[] = [];
    const k = createK8sMetadata({ kubeconfig: cp.kubeconfig, nodeName: node, onNotice: (m) => notices.push(m) });
    try {
      await k.start();
      assert.equal(k.stats().state, 'watching');
      let u3 = '';
      await cp.restartApiServer();
      // Right after the restart, while the client is still backing off: only a fresh list or a watch
      // from the old resourceVersion sees these.
      await deletePod(n, 'p-2');
      u3 = await createPod(n, 'p-3', node, {});
      assert.ok(await waitFor(() => k.lookup(u3) !== undefined && k.lookup(u2) === undefined, 20_000),
        `${JSON.stringify(k.stats())} ${notices.join(' | ')}`);
      // The fresh list lands the changes before the new watch goes out: wait for the state, then show
      // the new watch is live with a change only it can deliver.
      assert.ok(await waitFor(() => k.stats().state === 'watching', 5000), `state ${k.stats().state}`);
      await relabel(n, 'p-1', { after: 'restart' });
      assert.ok(await waitFor(() => k.lookup(u1)?.labels['after'] === 'restart', 5000), 'a change after the recovery arrives over the new watch');
      assert.match(notices.join('\n'), /kubernetes: pod watch failed: .* \(retrying in 1 s\)/);
      assert.match(notices.join('\n'), new RegExp(`kubernetes: pod list on node ${node} recovered \\(\\d pods\\)`));
    } finally {
      await k.close();
    }
  });
});
