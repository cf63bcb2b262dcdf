// SPDX-License-Identifier: Apache-2.0
/**
 * Loads, reconfigures and unloads probes through one serial queue, so that a
 * config reload, a CLI request and a CRD change never race: each operation
 * runs to completion before the next starts, in arrival order, and answers
 * its own caller.
 */
import { ClosedError, InvalidArgumentError } from '../lib/errors.js';

/** What the manager holds for a loaded probe. */
export interface ManagedProbe<C = unknown> {
  readonly name: string;
  /** Applies new settings without reloading (policy maps, thresholds). */
  reconfigure(config: C): Promise<void> | void;
  /** Detaches and frees; pinned maps stay unless the owner removes them. */
  unload(): Promise<void> | void;
}

export type ProbeFactory<C> = (config: C) => Promise<ManagedProbe<C>> | ManagedProbe<C>;

export interface ProbeManagerOp {
  op: 'load' | 'unload' | 'reconfigure' | 'run';
  probe: string;
  ok: boolean;
  ms: number;
}

export interface ProbeManager {
  /** Loads a probe; a probe of that name already loaded is an error. */
  load<C>(name: string, factory: ProbeFactory<C>, config: C): Promise<void>;
  unload(name: string): Promise<void>;
  reconfigure<C>(name: string, config: C): Promise<void>;
  /** Runs any other control operation in the queue. */
  run<T>(label: string, fn: () => Promise<T> | T): Promise<T>;
  loaded(): string[];
  get<C>(name: string): ManagedProbe<C> | undefined;
  /** Operations waiting to run. */
  pending(): number;
  /** The last operations, newest last (bounded). */
  history(): readonly ProbeManagerOp[];
  /** Unloads every probe (in reverse load order) and refuses new operations. Idempotent. */
  close(): Promise<void>;
}

const HISTORY = 64;

export function createProbeManager(): ProbeManager {
  const probes = new Map<string, ManagedProbe<unknown>>();
  const hist: ProbeManagerOp[] = [];
  let tail: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  let closed: Promise<void> | undefined;

  const enqueue = <T>(op: ProbeManagerOp['op'], probe: string, fn: () => Promise<T> | T, internal = false): Promise<T> => {
    if (closed && !internal) return Promise.reject(new ClosedError('probe manager'));
    waiting++;
    const run = async (): Promise<T> => {
      waiting--;
      const t0 = performance.now();
      let ok = false;
      try {
        const r = await fn();
        ok = true;
        return r;
      } finally {
        hist.push({ op, probe, ok, ms: performance.now() - t0 });
        if (hist.length > HISTORY) hist.shift();
      }
    };
    const p = tail.then(run, run);
    tail = p.catch(() => undefined);
    return p;
  };

  const unloadNow = async (name: string): Promise<void> => {
    const p = probes.get(name);
    if (!p) throw new InvalidArgumentError(`probe ${name} is not loaded`);
    probes.delete(name);
    await p.unload();
  };

  return {
    load: (name, factory, config) => enqueue('load', name, async () => {
      if (probes.has(name)) throw new InvalidArgumentError(`probe ${name} is already loaded`);
      const p = await factory(config);
      probes.set(name, p as ManagedProbe<unknown>);
    }),
    unload: (name) => enqueue('unload', name, () => unloadNow(name)),
    reconfigure: (name, config) => enqueue('reconfigure', name, async () => {
      const p = probes.get(name);
      if (!p) throw new InvalidArgumentError(`probe ${name} is not loaded`);
      await p.reconfigure(config);
    }),
    run: (label, fn) => enqueue('run', label, fn),
    loaded: () => [...probes.keys()],
    get: <C>(name: string) => probes.get(name) as ManagedProbe<C> | undefined,
    pending: () => waiting,
    history: () => hist,
    close() {
      closed ??= enqueue('unload', '*', async () => {
        const errors: unknown[] = [];
        for (const name of [...probes.keys()].reverse()) {
          try {
            await unloadNow(name);
          } catch (err) {
            errors.push(err);
          }
        }
        if (errors.length) throw new AggregateError(errors, 'unloading probes');
      }, true);
      return closed;
    },
  };
}
