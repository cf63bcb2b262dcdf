// SPDX-License-Identifier: Apache-2.0
// The chart, its value sets, and helm (built by scripts/build-k8s-tools.sh) for the chart tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { k8sToolPath, kubernetesVersion } from '../../helpers/k8s-tools.js';

export const CHART = fileURLToPath(new URL('../../../../deploy/helm/ebpf-probe', import.meta.url));
export const TESTDATA = process.env['MAXPRO_TESTDATA'] ?? fileURLToPath(new URL('../../../../../shared/testdata', import.meta.url));
export const SM_CRD = join(TESTDATA, 'k8s', 'prometheus-operator', 'monitoring.coreos.com_servicemonitors.yaml');
export const NS = 'observability';
/** Value sets: the defaults, then ci/<name>-values.yaml. */
export const VALUE_SETS: { name: string; args: string[] }[] = [
  { name: 'default', args: [] },
  { name: 'tcp-only', args: ['-f', join(CHART, 'ci', 'tcp-only-values.yaml')] },
  { name: 'exec', args: ['-f', join(CHART, 'ci', 'exec-values.yaml')] },
  { name: 'collector', args: ['-f', join(CHART, 'ci', 'collector-values.yaml')] },
];
export const QUICK_START = ['--set', 'global.clusterName=prod-cluster-01', '--set', 'probe.enableTCPLatency=true', '--set', 'probe.enableProcessExec=true'];

export interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown }

let home: string | undefined;
/** helm's cache, config and data homes: created on first use (a skipped suite leaves none), removed at exit. */
function helmHomeDir(): string {
  if (home === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-helm-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    home = dir;
  }
  return home;
}
export function helm(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const helmHome = helmHomeDir();
  const env = { ...process.env, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') };
  const r = spawnSync(k8sToolPath('helm'), args, { encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
export function render(args: string[], release = 'maxpro-ebpf', namespace = NS): K8sObject[] {
  // Without --kube-version helm assumes v1.20, below the chart's kubeVersion.
  const r = helm('template', release, CHART, '--namespace', namespace, '--kube-version', kubernetesVersion(), ...args);
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
}

/** Collection path of an object (the kinds this chart renders). */
const PLURAL: Record<string, [string, boolean]> = {
  ServiceAccount: ['serviceaccounts', true], ConfigMap: ['configmaps', true], Service: ['services', true], Secret: ['secrets', true],
  DaemonSet: ['daemonsets', true], StatefulSet: ['statefulsets', true], ServiceMonitor: ['servicemonitors', true],
  ClusterRole: ['clusterroles', false], ClusterRoleBinding: ['clusterrolebindings', false],
};
export function collection(o: K8sObject, namespace = NS): string {
  const known = PLURAL[o.kind];
  assert.ok(known, `the test knows where ${o.kind} objects go`);
  const [plural, namespaced] = known;
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return namespaced ? `${base}/namespaces/${o.metadata.namespace ?? namespace}/${plural}` : `${base}/${plural}`;
}

