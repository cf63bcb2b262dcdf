// SPDX-License-Identifier: Apache-2.0
/**
 * Cgroup id -> workload (container, pod, namespace) outside the agent (the
 * CLI, the benchmarks): the shared workload resolver, with pod names when a
 * cluster is configured.
 */
import { createWorkloadResolver, startK8sMetadata } from './workload-resolver.js';
import type { WorkloadIdentity } from '../lib/workload-identity.js';

export interface CgroupIdentityOptions {
  /** Pod metadata: a kubeconfig path, `{}` for the in-cluster account, false to skip. Default false. */
  kubernetes?: { kubeconfig?: string } | false;
  /** Most identities memoised. Default 4096. */
  maxEntries?: number;
  onNotice?(message: string): void;
}

export interface CgroupIdentity {
  identify(cgroupId: bigint): WorkloadIdentity;
  close(): Promise<void>;
}

/** Never throws for a missing cgroup2 mount or cluster (it notices and degrades). */
export async function createCgroupIdentity(options: CgroupIdentityOptions = {}): Promise<CgroupIdentity> {
  const k8s = options.kubernetes ? await startK8sMetadata(options.kubernetes, options.onNotice) : undefined;
  const resolver = createWorkloadResolver({
    ...(k8s ? { k8s } : {}),
    ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  return {
    identify: (cgroupId) => resolver.identify(cgroupId),
    async close() {
      await k8s?.close();
    },
  };
}
