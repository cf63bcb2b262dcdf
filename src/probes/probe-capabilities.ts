// SPDX-License-Identifier: Apache-2.0
/**
 * The capabilities the probes need, each with what the kernel checks it for
 * and what is lost without it: the one list `maxpro doctor`, the systemd unit
 * (deploy/systemd/maxpro-agent.service), the Helm chart's DaemonSet and
 * docs/privileges.md agree with (test/unit/probes/probe-capabilities.test.ts
 * compares them). test/kernel/agent/agent-nonroot.test.ts runs the agent as
 * uid 65534 with exactly this set and removes each grant in turn: that is the
 * proof each one is needed.
 */
import type { CapName } from '../ebpf/index.js';
import { PROBE_NAMES, probeModules } from './registry.js';
import type { ProbeName } from './registry.js';

export interface CapabilityGrant {
  readonly capability: CapName;
  /** The probes that use it (their modules' `capabilities`). */
  readonly probes: readonly ProbeName[];
  /** Without it those probes cannot load; otherwise they run with less. */
  readonly required: boolean;
  /** What the kernel checks it for. */
  readonly why: string;
  /** What is lost without it. */
  readonly without: string;
}

/** The probes whose modules use a capability. */
const usedBy = (capability: CapName): ProbeName[] => probeModules().filter((m) => m.capabilities.includes(capability)).map((m) => m.name as ProbeName);

export const CAPABILITY_GRANTS: readonly CapabilityGrant[] = [
  {
    capability: 'CAP_BPF', probes: usedBy('CAP_BPF'), required: true,
    why: 'bpf(): create maps, load programs, pin them in bpffs',
    without: 'no map can be created and no program loaded: no probe runs',
  },
  {
    capability: 'CAP_PERFMON', probes: usedBy('CAP_PERFMON'), required: true,
    why: 'tracing programs (raw and BTF tracepoints) load and attach; BPF reads of kernel memory',
    without: 'tracing programs (tracepoints, tp_btf) cannot load or attach: no probe runs',
  },
  {
    capability: 'CAP_SYS_PTRACE', probes: usedBy('CAP_SYS_PTRACE'), required: false,
    why: 'readlink(/proc/<pid>/exe) of another user\'s process is a ptrace-mode read',
    without: 'exec events of other users\' processes lack the executable path',
  },
];

/** Capabilities deliberately not granted, and why none of the probes needs them. */
export const NOT_GRANTED: readonly { capability: CapName; why: string }[] = [
  { capability: 'CAP_SYS_ADMIN', why: 'bpffs is mounted by the host; only BPF run-time statistics (BPF_ENABLE_STATS) need it, so maxpro_probe_bpf_run_seconds stays 0' },
  { capability: 'CAP_NET_ADMIN', why: 'no probe uses XDP or TC programs' },
  { capability: 'CAP_SYS_RESOURCE', why: 'BPF memory is charged to the memory cgroup since Linux 5.11, not to the memlock rlimit' },
  { capability: 'CAP_DAC_OVERRIDE', why: 'the agent reads only what its user may read; tracefs, root-only, is replaced by BTF' },
];

/** The capabilities `probes` need, in CAPABILITY_GRANTS order. */
export function capabilitiesFor(probes: readonly ProbeName[] = PROBE_NAMES): CapName[] {
  return CAPABILITY_GRANTS.filter((g) => g.probes.some((p) => probes.includes(p))).map((g) => g.capability);
}
