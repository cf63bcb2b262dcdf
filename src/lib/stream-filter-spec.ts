// SPDX-License-Identifier: Apache-2.0
/**
 * What one live-stream subscriber asks for (`GET /stream` query parameters,
 * parsed by src/agent/http/stream-filter.ts). A plain shape, so that probe
 * modules can say how their events match the probe-specific keys and what
 * a filter asks of their kernel side.
 */

/** Every given field must match. */
export interface StreamFilter {
  /** Only this probe's events. */
  probe?: string;
  /** Only events whose name starts with this, e.g. `process.exec`. */
  name?: string;
  /** Only events of processes with this comm (or, for execs, executable name). */
  comm?: string;
  /** Only events of this process (for execs and forks: or of its children). */
  pid?: number;
  /** Only events in containers whose id starts with this. */
  container?: string;
  /** Only events in this pod: its name (when the agent watches the cluster) or UID. */
  pod?: string;
  /** Only events in this namespace: the pod's, or that of a `workloads` entry. */
  namespace?: string;
  /** Only failures: failed execs, failed connects. */
  failed?: boolean;
  /** Only network events with this local or remote port. */
  port?: number;
  /** Only connects, accepts and closes whose handshake took at least this long (ns). */
  minLatencyNs?: number;
  /**
   * Only events the export policy keeps. Default false: a subscriber sees
   * every event the probes deliver, whatever the policy exports.
   */
  kept?: boolean;
}
