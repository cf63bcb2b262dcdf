// SPDX-License-Identifier: Apache-2.0
/**
 * Where scripts/build-k8s-tools.sh caches kube-apiserver, kube-controller-manager, etcd, helm and cosign
 * (keyed by the versions in tools/k8s/versions.env), and why a test that needs one must skip.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

export type K8sTool = 'kube-apiserver' | 'kube-controller-manager' | 'etcd' | 'helm' | 'cosign';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(repo, 'tools', 'k8s', 'versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The Kubernetes version the tests build and target, e.g. 1.35.4. */
export function kubernetesVersion(): string {
  return versions()['KUBERNETES_VERSION']!;
}

/** Absolute path of a tool's cached binary (which may not exist). */
export function k8sToolPath(tool: K8sTool): string {
  const v = versions();
  const cache = process.env['MAXPRO_TOOLS_CACHE'] ?? join(homedir(), '.cache', 'maxpro', 'tools');
  const dir = tool === 'etcd' ? `etcd-v${v['ETCD_VERSION']}` : tool === 'helm' ? `helm-v${v['HELM_VERSION']}`
    : tool === 'cosign' ? `cosign-v${v['COSIGN_VERSION']}` : `kubernetes-v${v['KUBERNETES_VERSION']}`;
  return join(cache, dir, tool);
}

/** False when every tool is built, else the reason a test that needs them skips. */
export function k8sToolsSkip(...tools: K8sTool[]): string | false {
  const missing = tools.filter((t) => {
    try {
      accessSync(k8sToolPath(t), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return false;
  const go = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
  return `needs ${missing.map((t) => k8sToolPath(t)).join(', ')}: ${go ? 'run scripts/build-k8s-tools.sh' : 'Go is not installed, so scripts/build-k8s-tools.sh cannot build them'}`;
}
