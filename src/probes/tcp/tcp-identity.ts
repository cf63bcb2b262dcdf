// SPDX-License-Identifier: Apache-2.0
/**
 * Cgroup id -> workload (container, pod, namespace) for TCP aggregates and
 * records outside the agent (the CLI, the benchmark): the shared workload
 * resolver, with pod names when a cluster is configured.
 */
import { createWorkloadResolver, startK8sMetadata } from '../../enrich/workload-resolver.js';
import type { WorkloadIdentity } from '../../enrich/workload-resolver.js';

export type { WorkloadIdentity };

export interface TcpIdentityOptions {
  /** Pod metadata: a kubeconfig path, `{}` for the in-cluster account, false to skip. Default false. */
  kubernetes?: { kubeconfig?: string } | false;
  /** Most identities memoised. Default 4096. */
  maxEntries?: number;
  onNotice?(message: string): void;
}

export interface TcpIdentity {
  identify(cgroupId: bigint): WorkloadIdentity;
  close(): Promise<void>;
}

/** Never throws for a missing cgroup2 mount or cluster (it notices and degrades). */
export async function createTcpIdentity(options: TcpIdentityOptions = {}): Promise<TcpIdentity> {
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
