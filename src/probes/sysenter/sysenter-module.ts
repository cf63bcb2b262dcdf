// SPDX-License-Identifier: Apache-2.0
/**
 * The example probe's module (see src/probes/probe-module.ts): the whole of
 * what registering a probe takes besides its BPF object, loader and source.
 * Off by default: its program runs on every syscall of the machine.
 */
import type { z } from 'zod';
import type { ProbeModule } from '../probe-module.js';
import { SYSENTER_PUSH_DOWN } from './sysenter-push-down.js';
import type { SysenterKernelPolicy } from './sysenter-push-down.js';
import type { SysenterSource } from './sysenter-source.js';

const SYSENTER_CONFIG = (zod: typeof z) => zod.object({
  enabled: zod.boolean().default(false).describe('Count every syscall entry (maxpro_sysenter_syscalls); off by default, it runs on every syscall.'),
  pid: zod.number().int().min(0).max(2 ** 22).default(0)
    .describe('Records of this process\'s syscalls (event syscall.enter), as the policy lets through; 0: none.'),
}).strict();

export type SysenterConfig = z.output<ReturnType<typeof SYSENTER_CONFIG>>;

/** What live-stream subscribers ask: the syscalls of one process (the first subscriber's, one process at a time). */
export interface SysenterDemand {
  pid: number;
}

export const SYSENTER_MODULE = {
  name: 'sysenter',
  summary: 'example probe: syscall entries counted per CPU, and the syscalls of one process as records',
  config: SYSENTER_CONFIG,
  predicateFields: {
    'syscall.id': { unit: 'code', min: 0, max: 1023, description: 'the syscall number, on entry' },
  },
  capabilities: ['CAP_BPF', 'CAP_PERFMON'],
  cgroupFilter: false,
  pushDown: SYSENTER_PUSH_DOWN,
  stream: {
    demandOf: (f) => (f.pid !== undefined && f.pid > 0 ? { pid: f.pid } : undefined),
    merge: (list) => list[0],
  },
  async events() {
    const { SYSENTER_EVENT, SYSENTER_EVENT_KIND } = await import('./sysenter-event.js');
    return { layouts: [SYSENTER_EVENT], group: 'SYSCALL', kinds: SYSENTER_EVENT_KIND };
  },
  async createSource(ctx) {
    const { createSysenterSource } = await import('./sysenter-source.js');
    return createSysenterSource({ config: ctx.config, kernel: ctx.kernel, emit: ctx.emit, onError: (err) => ctx.log(`sysenter probe: ${String(err)}`) });
  },
} as const satisfies ProbeModule<'sysenter', SysenterConfig, SysenterKernelPolicy, SysenterDemand, SysenterSource>;
