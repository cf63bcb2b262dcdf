// SPDX-License-Identifier: Apache-2.0
/** The process probe as an agent source: exec, fork and exit events. */
import { createProcessProbe } from '../../probes/process/process-probe.js';
import type { ProcessEvent } from '../../probes/process/process-event.js';
import type { Redactor } from '../../enrich/redaction.js';
import type { MetricFamily } from '../../lib/metric-family.js';
import { memoAttributes } from '../agent-event.js';
import type { AgentEvent } from '../agent-event.js';
import type { AgentSource } from './agent-source.js';
import { bootNsToWallMs } from './boot-clock.js';

export interface ProcessSourceOptions {
  maxArgs: number;
  maxArgBytes: number;
  redactor: Redactor;
  /** Receives each event (not yet enriched). */
  emit(e: AgentEvent): void;
  onError?(err: unknown): void;
}

const EMPTY = { labels: {}, attributes: {} };

export function toAgentEvent(e: ProcessEvent, redactor: Redactor): AgentEvent {
  const base = {
    probe: 'process' as const, timeMs: bootNsToWallMs(e.bootNs), pid: e.tid, tgid: e.pid, comm: e.comm, cgroupId: e.cgroupId,
    workload: EMPTY,
  };
  switch (e.type) {
    case 'exec': {
      let args: string[] | undefined;
      const commandArgs = (): string[] => (args ??= redactor.redactArgs(e.args));
      return {
        ...base, name: 'process.exec', exe: e.filename,
        fields: { 'process.args.count': e.argc },
        attributes: memoAttributes(() => ({
          'process.pid': e.pid, 'process.parent_pid': e.ppid, 'process.executable.path': redactor.redact(e.filename),
          'process.command_line': commandArgs().join(' '), 'process.args_truncated': e.argsTruncated,
          'user.id': e.uid, 'process.exec.retval': e.retval,
        })),
        commandArgs,
      };
    }
    case 'fork':
      return { ...base, name: 'process.fork', fields: {}, attributes: memoAttributes(() => ({ 'process.pid': e.pid, 'process.parent_pid': e.ppid, 'user.id': e.uid })) };
    case 'exit':
      return {
        ...base, name: 'process.exit',
        fields: {
          ...(e.exitCode !== null ? { 'process.exit.code': e.exitCode } : {}),
          'process.exit.signal': e.signal ?? 0,
        },
        attributes: memoAttributes(() => ({
          'process.pid': e.pid, 'process.exit.status': e.status, 'process.exit.core_dumped': e.coreDumped,
          'process.lifetime_ns': e.lifetimeNs,
        })),
      };
  }
}

/** Loads the process probe. May throw what `createProcessProbe` throws. */
export function createProcessSource(options: ProcessSourceOptions): AgentSource {
  let events = 0;
  const probe = createProcessProbe({
    maxArgs: options.maxArgs,
    maxArgBytes: options.maxArgBytes,
    onEvents: (batch) => {
      for (const e of batch) {
        events++;
        options.emit(toAgentEvent(e, options.redactor));
      }
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return {
    name: 'process',
    cgroupFilter: probe.cgroupFilter,
    events: () => events,
    lost() {
      const l = probe.stats().lost;
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(l.kernel)) out[k] = v;
      out.reader = l.reader;
      out.decode = l.decode;
      return out;
    },
    bpfStats: () => undefined,
    metrics(): MetricFamily[] {
      const s = probe.stats();
      return [{
        name: 'maxpro_process_events', type: 'counter', help: 'Process events decoded, by type.',
        samples: Object.entries(s.events).map(([type, value]) => ({ labels: { type }, value })),
      }];
    },
    flush: () => probe.flush(),
    reconfigure: () => undefined,
    async unload() {
      await probe.close();
    },
  };
}
