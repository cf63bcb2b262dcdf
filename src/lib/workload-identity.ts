// SPDX-License-Identifier: Apache-2.0
/** The workload a cgroup belongs to, as every layer labels it (resolved in src/enrich). */

/** Who a cgroup belongs to, as metric labels. Empty strings where unknown. */
export interface WorkloadIdentity {
  /** Container id in its short form (12 hex, as `docker ps`), or the systemd unit / LXC / other workload id; empty for none. */
  container: string;
  /** Pod name when pod metadata is known, else the pod UID. */
  pod: string;
  namespace: string;
  /** The cgroup path relative to the v2 root, when resolved. */
  cgroupPath: string;
}

/** The identity of a cgroup nothing is known of. */
export const NO_IDENTITY: WorkloadIdentity = Object.freeze({ container: '', pod: '', namespace: '', cgroupPath: '' });
