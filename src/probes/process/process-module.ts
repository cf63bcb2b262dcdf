// SPDX-License-Identifier: Apache-2.0
/** The process probe's module (see src/probes/probe-module.ts). */
import type { z } from 'zod';
import type { ProbeModule, ProbeSource } from '../probe-module.js';

const PROCESS_CONFIG = (zod: typeof z) => zod.object({
  enabled: zod.boolean().default(true),
  maxArgs: zod.number().int().min(1).max(1024).default(128),
  maxArgBytes: zod.number().int().min(64).max(32768).default(4096),
}).strict();

export type ProcessConfig = z.output<ReturnType<typeof PROCESS_CONFIG>>;

export const PROCESS_MODULE = {
  name: 'process',
  summary: 'exec, fork and exit of every process, with argv and cgroup',
  config: PROCESS_CONFIG,
  // Sizes of the BPF object's buffers, set before load.
  loadTimeKeys: ['maxArgs', 'maxArgBytes'],
  predicateFields: {
    'process.exit.code': { unit: 'code', min: 0, max: 255, description: 'exit status of a process that exited normally' },
    'process.exit.signal': { unit: 'code', min: 0, max: 64, description: 'the signal that killed a process, 0 if none' },
    'process.args.count': { unit: 'count', min: 0, max: 1024, description: 'arguments of an exec' },
  },
  capabilities: ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE'],
  cgroupFilter: true,
  defaultPolicy: { rules: [], description: 'keep every process event' },
  stream: {
    // Records leave the kernel whatever the policy says; only the cgroup filter narrows them.
    demandOf: () => undefined,
    merge: () => undefined,
    matches: (e, f) => f.port === undefined && f.minLatencyNs === undefined
      && (!f.failed || (e.name === 'process.exec' && Number(e.attributes()['process.exec.retval']) < 0)),
    parentPid(e) {
      const p = e.attributes()['process.parent_pid'];
      return typeof p === 'number' ? p : undefined;
    },
  },
  async events() {
    const { PROCESS_EXEC_EVENT, PROCESS_FORK_EVENT, PROCESS_EXIT_EVENT, PROCESS_EVENT_KIND } = await import('./process-event.js');
    return { layouts: [PROCESS_EXEC_EVENT, PROCESS_FORK_EVENT, PROCESS_EXIT_EVENT], group: 'PROCESS', kinds: PROCESS_EVENT_KIND };
  },
  commands: [{
    name: 'trace exec',
    summary: 'live table of every exec: argv, parent, return value, container and pod',
    load: async () => (await import('./cli/trace-exec.js')).traceExecCommand,
  }],
  async createSource(ctx) {
    const { createProcessSource } = await import('./process-source.js');
    return createProcessSource({
      maxArgs: ctx.config.maxArgs, maxArgBytes: ctx.config.maxArgBytes, emit: ctx.emit, ...(ctx.k8s ? { k8s: ctx.k8s } : {}),
      redaction: ctx.redaction,
      onError: (err) => ctx.log(`process probe: ${String(err)}`), onNotice: ctx.log,
    });
  },
} as const satisfies ProbeModule<'process', ProcessConfig, undefined, undefined, ProbeSource<ProcessConfig, undefined>>;
