// SPDX-License-Identifier: Apache-2.0
/**
 * The example probe's module (see src/probes/probe-module.ts): the whole of
 * what registering a probe takes besides its BPF object, loader and source.
 * Off by default: its program runs on every syscall of the machine.
 */
import { z } from 'zod';
import type { ProbeModule } from '../probe-module.js';
import { SYSCALLS_PUSH_DOWN } from './syscalls-push-down.js';
import type { SyscallsKernelPolicy } from './syscalls-push-down.js';
import type { SyscallsSource } from './syscalls-source.js';

const SYSCALLS_CONFIG = z.object({
  enabled: z.boolean().default(false).describe('Count every syscall entry (maxpro_syscalls_entered); off by default, it runs on every syscall.'),
  pid: z.number().int().min(0).max(2 ** 22).default(0)
    .describe('Records of this process\'s syscalls (event syscall.enter), as the policy lets through; 0: none.'),
}).strict();

export type SyscallsConfig = z.output<typeof SYSCALLS_CONFIG>;

/** What live-stream subscribers ask: the syscalls of one process (the first subscriber's, one process at a time). */
export interface SyscallsDemand {
  pid: number;
}

export const SYSCALLS_MODULE = {
  name: 'syscalls',
  summary: 'example probe: syscall entries counted per CPU, and the syscalls of one process as records',
  config: SYSCALLS_CONFIG,
  predicateFields: {
    'syscall.id': { unit: 'code', min: 0, max: 1023, description: 'the syscall number, on entry' },
  },
  cgroupFilter: false,
  pushDown: SYSCALLS_PUSH_DOWN,
  stream: {
    demandOf: (f) => (f.pid !== undefined && f.pid > 0 ? { pid: f.pid } : undefined),
    merge: (list) => list[0],
  },
  async events() {
    const { SYSCALLS_EVENT, SYSCALLS_EVENT_KIND } = await import('./syscalls-event.js');
    return { layouts: [SYSCALLS_EVENT], group: 'SYSCALL', kinds: SYSCALLS_EVENT_KIND };
  },
  async createSource(ctx) {
    const { createSyscallsSource } = await import('./syscalls-source.js');
    return createSyscallsSource({ config: ctx.config, kernel: ctx.kernel, emit: ctx.emit, onError: (err) => ctx.log(`syscalls probe: ${String(err)}`) });
  },
} as const satisfies ProbeModule<'syscalls', SyscallsConfig, SyscallsKernelPolicy, SyscallsDemand, SyscallsSource>;
