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
 * Whether a workload passes. A pod known by two names (name and UID) passes
 * a pod filter naming either: `podAlias` is the other one. An unknown
 * container counts as the empty id. Runs per event in the agent's live
 * stream, so it takes no list.
 */
export function matchesWorkload(container: string | undefined, pod: string | undefined, namespace: string | undefined, f: WorkloadMatch, podAlias?: string): boolean {
  if (f.container !== undefined && !(container ?? '').startsWith(f.container)) return false;
  if (f.pod !== undefined && pod !== f.pod && podAlias !== f.pod) return false;
  if (f.namespace !== undefined && namespace !== f.namespace) return false;
  return true;
}
