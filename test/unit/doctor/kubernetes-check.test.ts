// SPDX-License-Identifier: Apache-2.0
// The doctor's pod-metadata check: where the agent would get pod metadata from, and the one
// mistake that silently yields none (no NODE_NAME in a pod).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesCheck } from '../../../src/doctor/run-doctor.js';

const scenarios: { name: string; env: Record<string, string>; inCluster: boolean; status: string; detail: RegExp; fix?: RegExp }[] = [
  { name: 'outside a cluster', env: { NODE_NAME: 'n1' }, inCluster: false, status: 'ok', detail: /no in-cluster service account: pod metadata only with kubernetes\.kubeconfig/ },
  { name: 'in a pod without NODE_NAME', env: {}, inCluster: true, status: 'warn', detail: /NODE_NAME is not set: pods would be looked up under the host name/, fix: /NODE_NAME from fieldRef spec\.nodeName/ },
  { name: 'in a pod with NODE_NAME', env: { NODE_NAME: 'worker-3' }, inCluster: true, status: 'ok', detail: /pods of node worker-3 \(needs get, list and watch on pods\)/ },
];

for (const s of scenarios) {
  test(`kubernetes check: ${s.name}`, () => {
    const c = kubernetesCheck(s.env, s.inCluster);
    assert.equal(c.status, s.status);
    assert.equal(c.required, false);
    assert.match(c.detail, s.detail);
    if (s.fix) assert.match(c.fix ?? '', s.fix);
    else assert.equal(c.fix, undefined);
  });
}
