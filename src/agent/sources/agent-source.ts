// SPDX-License-Identifier: Apache-2.0
/** What the agent needs from each probe it runs. */
import type { MetricFamily } from '../../lib/metric-family.js';
import type { CgroupFilter } from '../../probes/cgroup-filter.js';
import type { AgentProbeName } from '../agent-event.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { TcpKernelPolicy } from '../policy/policy-planner.js';
import type { ManagedProbe } from '../probe-manager.js';

/** Settings a source can change live. */
export interface SourceSettings {
  tcp: TcpKernelPolicy;
  /** Labels and series cap of the TCP aggregate metrics. */
  tcpMetrics: AgentConfig['probes']['tcp']['metrics'];
}

export interface AgentSource extends ManagedProbe<SourceSettings> {
  readonly name: AgentProbeName;
  /** Records decoded and handed to the pipeline since load. */
  events(): number;
  /** Events lost so far, by reason (kernel drop reasons, reader, decode). */
  lost(): Record<string, number>;
  /** BPF run time and count of the probe's programs; undefined when the probe does not expose them. */
  bpfStats(): { runTimeNs: number; runCount: number } | undefined;
  /** Ids of the probe's BPF programs, when it exposes them. */
  programIds?(): ReadonlySet<number>;
  /**
   * The probe's in-kernel cgroup allow/deny list, when its BPF object has one
   * (maxpro/cgroup_filter.bpf.h). Present: the agent pushes cgroup-only
   * selectors down to it; absent: they run in user space.
   */
  readonly cgroupFilter?: CgroupFilter;
  /** The probe's own aggregates (histograms, counters), for every exporter. */
  metrics(): MetricFamily[];
  /** Drains pending records now. */
  flush(): void;
}
