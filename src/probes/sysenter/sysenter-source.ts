// SPDX-License-Identifier: Apache-2.0
/** The example probe as an agent source: its records as events, its machine-wide count as a metric. */
import type { MetricFamily } from '../../lib/metric-family.js';
import { bootNsToWallMs } from '../boot-clock.js';
import { memoAttributes, NO_WORKLOAD } from '../probe-event.js';
import type { ProbeEvent } from '../probe-event.js';
import type { ProbeSettings, ProbeSource } from '../probe-module.js';
import type { SyscallEvent } from './sysenter-event.js';
import { createSysenterProbe } from './sysenter-probe.js';
import type { SysenterPolicy } from './sysenter-probe.js';
import type { SysenterKernelPolicy } from './sysenter-push-down.js';
import type { SysenterConfig, SysenterDemand } from './sysenter-module.js';

const NAME = 'sysenter';

export function syscallToProbeEvent(e: SyscallEvent): ProbeEvent {
  return {
    probe: NAME, name: 'syscall.enter', timeMs: bootNsToWallMs(e.bootNs), pid: e.tid, tgid: e.pid, comm: e.comm, cgroupId: e.cgroupId,
    fields: { 'syscall.id': e.syscallNr }, workload: NO_WORKLOAD, attributes: memoAttributes(() => ({})),
  };
}

export interface SysenterSourceOptions {
  config: SysenterConfig;
  kernel: SysenterKernelPolicy;
  emit(e: ProbeEvent): void;
  onError?(err: unknown): void;
}

export type SysenterSource = ProbeSource<SysenterConfig, SysenterKernelPolicy, SysenterDemand>;

export function createSysenterSource(options: SysenterSourceOptions): SysenterSource {
  let config = options.config, kernel = options.kernel;
  let live: SysenterDemand | undefined;
  const policy = (): SysenterPolicy => ({ tgid: config.pid, liveTgid: live?.pid ?? 0, syscallNr: kernel.syscallNr, records: kernel.records });
  let events = 0;
  const probe = createSysenterProbe({
    policy: policy(),
    onEvents: (list) => {
      for (const e of list) {
        events++;
        options.emit(syscallToProbeEvent(e));
      }
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return {
    name: NAME,
    stats() {
      const s = probe.stats();
      return { events, lost: { ...s.kernelDrops, reader: s.readerDrops, decode: s.skipped }, programs: probe.programStats() };
    },
    metrics: (): MetricFamily[] => [{
      name: 'maxpro_sysenter_syscalls', type: 'counter', help: 'Syscall entries on this machine since the sysenter probe loaded (all CPUs, counted in BPF).',
      samples: [{ labels: {}, value: probe.stats().entered }],
    }],
    flush: () => probe.flush(),
    reconfigure(s: ProbeSettings<SysenterConfig, SysenterKernelPolicy>) {
      config = s.config;
      kernel = s.kernel;
      probe.setPolicy(policy());
    },
    setLiveDemand(d) {
      live = d;
      probe.setPolicy(policy());
    },
    unload: () => probe.close(),
  };
}
