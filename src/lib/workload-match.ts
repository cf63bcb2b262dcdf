// SPDX-License-Identifier: Apache-2.0
/**
 * The workload part of the filters `maxpro trace …`, `maxpro top tcp` and the
 * agent's live stream share: a container id prefix, a pod, a namespace.
 */

export interface WorkloadMatch {
  /** Container id prefix. */
  container?: string;
  /** Pod name or UID. */
  pod?: string;
  namespace?: string;
}

/**
 * Whether a workload passes. `pods` lists every name the pod is known by
 * (name, UID); an unknown container counts as the empty id.
 */
export function matchesWorkload(container: string | undefined, pods: readonly (string | undefined)[], namespace: string | undefined, f: WorkloadMatch): boolean {
  if (f.container !== undefined && !(container ?? '').startsWith(f.container)) return false;
  if (f.pod !== undefined && !pods.includes(f.pod)) return false;
  if (f.namespace !== undefined && namespace !== f.namespace) return false;
  return true;
}
