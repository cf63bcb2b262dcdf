// SPDX-License-Identifier: Apache-2.0
/** The example probe as an agent source: its records as events, its machine-wide count as a metric. */
import type { MetricFamily } from '../../lib/metric-family.js';
import { bootNsToWallMs } from '../boot-clock.js';
import { memoAttributes, NO_WORKLOAD } from '../probe-event.js';
import type { ProbeEvent } from '../probe-event.js';
import type { ProbeSettings, ProbeSource } from '../probe-module.js';
import type { SyscallEvent } from './syscalls-event.js';
import { createSyscallsProbe } from './syscalls-probe.js';
import type { SyscallsPolicy } from './syscalls-probe.js';
import type { SyscallsKernelPolicy } from './syscalls-push-down.js';
import type { SyscallsConfig, SyscallsDemand } from './syscalls-module.js';

const NAME = 'syscalls';

export function syscallToProbeEvent(e: SyscallEvent): ProbeEvent {
  return {
    probe: NAME, name: 'syscall.enter', timeMs: bootNsToWallMs(e.bootNs), pid: e.tid, tgid: e.pid, comm: e.comm, cgroupId: e.cgroupId,
    fields: { 'syscall.id': e.syscallNr }, workload: NO_WORKLOAD, attributes: memoAttributes(() => ({})),
  };
}

export interface SyscallsSourceOptions {
  config: SyscallsConfig;
  kernel: SyscallsKernelPolicy;
  emit(e: ProbeEvent): void;
  onError?(err: unknown): void;
}

export type SyscallsSource = ProbeSource<SyscallsConfig, SyscallsKernelPolicy, SyscallsDemand>;

export function createSyscallsSource(options: SyscallsSourceOptions): SyscallsSource {
  let config = options.config, kernel = options.kernel;
  let live: SyscallsDemand | undefined;
  const policy = (): SyscallsPolicy => ({ tgid: config.pid, liveTgid: live?.pid ?? 0, syscallNr: kernel.syscallNr, records: kernel.records });
  let events = 0;
  const probe = createSyscallsProbe({
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
      name: 'maxpro_syscalls_entered', type: 'counter', help: 'Syscall entries on this machine since the syscalls probe loaded (all CPUs, counted in BPF).',
      samples: [{ labels: {}, value: probe.stats().entered }],
    }],
    flush: () => probe.flush(),
    reconfigure(s: ProbeSettings<SyscallsConfig, SyscallsKernelPolicy>) {
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
