// SPDX-License-Identifier: Apache-2.0
// The ebpf-probe Helm chart against a real kube-apiserver (test/helpers/kube-control-plane.ts): every
// object `helm template` renders for each value set passes a server-side dry-run with strict field
// validation (the prometheus-operator ServiceMonitor CRD from the shared test data installed first);
// `helm install` creates the objects and the agent's account may list and watch pods, nothing more.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { k8sToolsSkip } from '../../helpers/k8s-tools.js';
import { controlPlaneSkip, startControlPlane } from '../../helpers/kube-control-plane.js';
import type { ControlPlane } from '../../helpers/kube-control-plane.js';
import { CHART, NS, QUICK_START, SM_CRD, VALUE_SETS, collection, helm, render } from './chart-fixture.js';

describe('helm chart ebpf-probe against a real kube-apiserver', { skip: k8sToolsSkip('helm') || controlPlaneSkip() || (existsSync(SM_CRD) ? false : `needs ${SM_CRD} (shared test data)`), timeout: 300_000 }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
    await cp.must('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', readFileSync(SM_CRD, 'utf8'), 'application/yaml');
    const established = async (): Promise<boolean> => {
      const crd = await cp.api('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com');
      return ((crd.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [])
        .some((c) => c.type === 'Established' && c.status === 'True');
    };
    for (let i = 0; i < 100 && !(await established()); i++) await new Promise((r) => setTimeout(r, 200));
    assert.ok(await established(), 'the ServiceMonitor CRD is established');
    // Discovery of the new group can lag the Established condition.
    for (let i = 0; i < 100 && (await cp.api('GET', '/apis/monitoring.coreos.com/v1/servicemonitors')).status !== 200; i++) await new Promise((r) => setTimeout(r, 200));
    await cp.must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  after(async () => {
    await cp?.close();
  });

  const sets = [...VALUE_SETS, { name: 'quick start + ServiceMonitor + collector', args: [...QUICK_START, '--set', 'serviceMonitor.enabled=true', '--set', 'collector.enabled=true'] }];
  for (const v of sets) {
    test(`helm template (${v.name}): every object passes a server-side dry-run with strict field validation`, async () => {
      const objs = render(v.args);
      const kinds = objs.map((o) => o.kind);
      for (const k of ['ServiceAccount', 'ConfigMap', 'Service', 'DaemonSet']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
      for (const o of objs) {
        const r = await cp.api('POST', `${collection(o)}?dryRun=All&fieldValidation=Strict`, o);
        assert.equal(r.status, 201, `${o.kind} ${o.metadata.name}: HTTP ${r.status} ${r.text}`);
      }
    });
  }

  for (const [i, v] of VALUE_SETS.entries()) {
    test(`helm install (${v.name}) into its own namespace creates every object helm template renders`, async () => {
      const release = `set-${i}`;
      const ns = `values-${i}`;
      const r = helm('install', release, CHART, '--namespace', ns, '--create-namespace', '--kubeconfig', cp.kubeconfig, ...v.args);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /STATUS: deployed/);
      const objs = render(v.args, release, ns);
      for (const o of objs) {
        const got = await cp.api('GET', `${collection(o, ns)}/${o.metadata.name}`);
        assert.equal(got.status, 200, `${o.kind} ${o.metadata.name}: HTTP ${got.status} ${got.text}`);
        assert.equal((got.body as { metadata: { labels?: Record<string, string> } }).metadata.labels?.['app.kubernetes.io/instance'], release, `${o.kind} ${o.metadata.name} is the release's`);
      }
    });
  }

  test('strict field validation is on: a misspelt field of the DaemonSet is refused', async () => {
    const ds = render([]).find((o) => o.kind === 'DaemonSet')!;
    (ds['spec'] as Record<string, unknown>)['updateStrategyy'] = {};
    const r = await cp.api('POST', `${collection(ds)}?dryRun=All&fieldValidation=Strict`, ds);
    assert.equal(r.status, 400, r.text);
    assert.match((r.body as { message: string }).message, /strict decoding error: unknown field "spec.updateStrategyy"/);
    // Without strict validation the same object is accepted (the field dropped), so the check above is the server's.
    assert.equal((await cp.api('POST', `${collection(ds)}?dryRun=All&fieldValidation=Ignore`, ds)).status, 201);
  });

  test('helm install (quick start) creates the objects; the agent\'s account may list and watch pods only', async () => {
    const r = helm('install', 'maxpro-ebpf', CHART, '--namespace', NS, '--kubeconfig', cp.kubeconfig, ...QUICK_START,
      '--set', 'serviceMonitor.enabled=true', '--set', 'collector.enabled=true');
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /STATUS: deployed/);
    assert.match(r.stdout, /kubectl -n observability port-forward service\/maxpro-ebpf-ebpf-probe 9464/, 'NOTES.txt says how to reach /metrics');
    const name = 'maxpro-ebpf-ebpf-probe';
    const ds = await cp.must('GET', `/apis/apps/v1/namespaces/${NS}/daemonsets/${name}`) as { spec: { template: { spec: Record<string, unknown> } } };
    const pod = ds.spec.template.spec as { serviceAccountName: string; hostPID: boolean; containers: { env: { name: string; valueFrom?: unknown }[] }[] };
    assert.equal(pod.serviceAccountName, name);
    assert.equal(pod.hostPID, true);
    assert.deepEqual(pod.containers[0]!.env.find((e) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } });
    for (const path of [
      `/api/v1/namespaces/${NS}/configmaps/${name}`, `/api/v1/namespaces/${NS}/services/${name}`, `/api/v1/namespaces/${NS}/serviceaccounts/${name}`,
      `/apis/monitoring.coreos.com/v1/namespaces/${NS}/servicemonitors/${name}`, `/apis/apps/v1/namespaces/${NS}/statefulsets/${name}-collector`,
      `/api/v1/namespaces/${NS}/secrets/${name}-collector-token`, `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`,
    ]) await cp.must('GET', path);
    const may = async (verb: string, resource: string): Promise<boolean> => {
      const review = await cp.must('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: { user: `system:serviceaccount:${NS}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`], resourceAttributes: { verb, resource } },
      }) as { status: { allowed: boolean } };
      return review.status.allowed;
    };
    assert.deepEqual([await may('list', 'pods'), await may('watch', 'pods'), await may('get', 'pods')], [true, true, true]);
    assert.deepEqual([await may('list', 'secrets'), await may('create', 'pods'), await may('list', 'nodes')], [false, false, false]);
    // An upgrade keeps the collector's generated token.
    const token = (await cp.must('GET', `/api/v1/namespaces/${NS}/secrets/${name}-collector-token`) as { data: { token: string } }).data.token;
    const up = helm('upgrade', 'maxpro-ebpf', CHART, '--namespace', NS, '--kubeconfig', cp.kubeconfig, ...QUICK_START, '--set', 'serviceMonitor.enabled=true', '--set', 'collector.enabled=true');
    assert.equal(up.status, 0, up.stderr);
    assert.equal((await cp.must('GET', `/api/v1/namespaces/${NS}/secrets/${name}-collector-token`) as { data: { token: string } }).data.token, token);
  });
});
