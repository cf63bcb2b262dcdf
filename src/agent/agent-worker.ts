// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the agent in a worker thread with a capped young generation. The
 * probes' event rate makes V8 grow the main isolate's new space to its
 * 3 × 16 MiB maximum, which no runtime flag can lower; a worker's
 * `resourceLimits` can. The CLI thread keeps signals and output and talks to
 * the worker through messages.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { AgentConfig } from './config/agent-config.js';
import type { AgentStats } from './agent.js';
import type { MetricFamily } from '../lib/metric-family.js';

/** The agent as seen from the CLI thread. */
export interface AgentHandle {
  readonly url: string;
  readonly probes: readonly string[];
  reload(next: AgentConfig): Promise<void>;
  /** Counts a reload the CLI thread refused (the file did not validate) in `maxpro_agent_reloads_total{result="rejected"}`. */
  reloadRefused(): Promise<void>;
  stats(): Promise<AgentStats>;
  collect(): Promise<MetricFamily[]>;
  /** Drains and stops the agent, then the worker. Idempotent. */
  shutdown(): Promise<void>;
  /** Resolves with the worker's exit code when it ends (after shutdown, or on a crash). */
  readonly exited: Promise<number>;
}

export interface AgentWorkerOptions {
  config: AgentConfig;
  log?(line: string): void;
  /** Young-generation cap, MiB. Default 6. */
  youngGenerationMb?: number;
}

type Request = { id: number; op: 'reload'; config: AgentConfig } | { id: number; op: 'stats' | 'collect' | 'shutdown' | 'reloadRefused' };
type Reply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; message: string; code?: string };
type Note = { log: string } | { ready: { url: string; probes: string[] } } | { failed: string };

/** Starts the agent in a worker thread. Rejects with the start-up error. */
export function startAgentWorker(options: AgentWorkerOptions): Promise<AgentHandle> {
  const young = options.youngGenerationMb ?? 6;
  const w = new Worker(new URL(import.meta.url), {
    workerData: { agentConfig: options.config },
    resourceLimits: { maxYoungGenerationSizeMb: young },
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<number>((r) => w.once('exit', r));
  const call = (op: Request['op'], extra: Partial<Request> = {}): Promise<unknown> => {
    if (exited) return Promise.reject(new Error('the agent worker has exited'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      w.postMessage({ id, op, ...extra } as Request);
    });
  };
  return new Promise((resolveStart, rejectStart) => {
    let started = false;
    w.on('message', (m: Reply | Note) => {
      if ('log' in m) options.log?.(m.log);
      else if ('ready' in m) {
        started = true;
        let shut: Promise<void> | undefined;
        resolveStart({
          url: m.ready.url,
          probes: m.ready.probes,
          exited: exitedPromise,
          reload: async (config) => { await call('reload', { config }); },
          reloadRefused: async () => { await call('reloadRefused'); },
          stats: () => call('stats') as Promise<AgentStats>,
          collect: () => call('collect') as Promise<MetricFamily[]>,
          shutdown() {
            shut ??= (async () => {
              await call('shutdown').catch(() => undefined);
              if (!exited) await new Promise((r) => w.once('exit', r));
            })();
            return shut;
          },
        });
      } else if ('failed' in m) {
        if (!started) rejectStart(new Error(m.failed));
      } else {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m.value);
        else p.reject(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
      }
    });
    w.on('error', (err) => {
      if (!started) rejectStart(err);
      else options.log?.(`agent worker: ${err instanceof Error ? err.message : String(err)}`);
    });
    w.on('exit', (code) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`the agent worker exited (${code})`));
      pending.clear();
      if (!started) rejectStart(new Error(`the agent worker exited (${code}) before it was ready`));
    });
  });
}

if (!isMainThread && parentPort && (workerData as { agentConfig?: unknown } | null)?.agentConfig) {
  const port = parentPort;
  const { createAgent } = await import('./agent.js');
  const note = (n: Note): void => port.postMessage(n);
  try {
    const agent = await createAgent({ config: (workerData as { agentConfig: AgentConfig }).agentConfig, log: (l) => note({ log: l }) });
    port.on('message', (req: Request) => {
      void (async () => {
        try {
          let value: unknown;
          switch (req.op) {
            case 'reload': await agent.reload(req.config); break;
            case 'reloadRefused': agent.reloadRefused(); break;
            case 'stats': value = agent.stats(); break;
            case 'collect': value = agent.collect(); break;
            case 'shutdown': await agent.shutdown(); break;
          }
          port.postMessage({ id: req.id, ok: true, value } as Reply);
          if (req.op === 'shutdown') port.close();
        } catch (err) {
          port.postMessage({ id: req.id, ok: false, message: err instanceof Error ? err.message : String(err), ...(err && typeof err === 'object' && 'code' in err ? { code: String(err.code) } : {}) } as Reply);
        }
      })();
    });
    note({ ready: { url: agent.url, probes: agent.probes() } });
  } catch (err) {
    note({ failed: err instanceof Error ? `${err.message}${'code' in err ? ` [${String(err.code)}]` : ''}` : String(err) });
    port.close();
  }
}
