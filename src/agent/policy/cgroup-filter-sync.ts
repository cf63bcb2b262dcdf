// SPDX-License-Identifier: Apache-2.0
/**
 * Keeps each probe's kernel cgroup filter in step with the policy and the
 * cgroup tree: walks the cgroup2 mount, labels every cgroup from its path
 * (the same function user space labels events with), fills each probe's
 * allow or deny list (cgroup-filter-plan.ts) and writes it through the
 * probe's `CgroupFilter`. It rescans on a timer, when a record arrives from a
 * cgroup newer than the last walk, and on every policy or probe change.
 *
 * While live-stream subscribers want a probe's records (`setLiveDemand`),
 * its filter is off in the kernel: the records it would filter are ones the
 * policy drops, but a subscriber sees what the policy drops too. When the
 * last one leaves, a fresh walk fills the policy's list again (the update
 * from off goes through CgroupFilter's ordering like any other).
 *
 * Allow lists use `known_max_id` = the highest id of the walk *before* the
 * one that filled the list: kernfs ids only grow, so every cgroup at or below
 * it existed when this walk started and was classified; anything newer
 * passes until a later walk covers it.
 */
import type { MetricFamily } from '../../lib/metric-family.js';
import { findCgroup2Mount, walkCgroups } from '../../enrich/cgroup-resolver.js';
import { CGROUP_FILTER_MODES, CGROUP_FILTER_REASONS } from '../../probes/cgroup-filter.js';
import type { CgroupFilter } from '../../probes/cgroup-filter.js';
import { MaxproError } from '../../lib/errors.js';
import type { AgentProbeName } from '../agent-event.js';
import type { CompiledRule } from './policy-engine.js';
import type { PolicySetSpec } from './policy.js';
import type { SelectorSubject } from './selector.js';
import { analyzeCgroupFilter, resolveCgroupFilter } from './cgroup-filter-plan.js';
import type { CgroupFilterResolution } from './cgroup-filter-plan.js';

/** A probe whose BPF object has the cgroup filter. */
export interface CgroupFilterTarget {
  probe: AgentProbeName;
  filter: CgroupFilter;
}

export interface CgroupFilterSyncOptions {
  /** Subject of a cgroup path (the labeler's `pathSubject`). */
  subject(path: string): SelectorSubject;
  /** The cgroup2 mount. Default: found in /proc/self/mountinfo; none leaves every filter off. */
  root?: string;
  /** Runs a kernel update serialised with probe loads and unloads (the probe manager). Default: at once. */
  run?(label: string, fn: () => void): Promise<void>;
  log?(line: string): void;
  /** Most ids per probe; lower than the map's capacity only in tests. */
  maxIds?: number;
  /** Most cgroups walked. Default 65536; a larger tree turns allow lists off. */
  maxCgroups?: number;
  /** Periodic rescan, ms. Default 10000. */
  rescanIntervalMs?: number;
  /** Least time between two rescans asked for by new cgroups, ms. Default 1000. */
  minRescanMs?: number;
}

export interface CgroupFilterSync {
  /** New rules or probes: recomputes and writes every filter. Probes missing from `targets` are forgotten. */
  update(set: Pick<PolicySetSpec, 'default'>, rules: readonly CompiledRule[], targets: readonly CgroupFilterTarget[]): Promise<void>;
  /** Per record: asks for a rescan when the cgroup is newer than the last walk. */
  seen(cgroupId: number): void;
  /**
   * The probes live-stream subscribers want every record of: their filters
   * are turned off (or stay off) until they leave the set, then get the
   * policy's list back. Resolves once the kernel holds that.
   */
  setLiveDemand(probes: Iterable<AgentProbeName>): Promise<void>;
  /** Walks and writes now. */
  refresh(): Promise<void>;
  /** What each filter holds since the last write. */
  resolutions(): CgroupFilterResolution[];
  /** maxpro_policy_kernel_filtered_events_total and the filter state. */
  metrics(): MetricFamily[];
  /** Stops the timers (the filters keep their last setting until the probes unload). */
  close(): void;
}

export function createCgroupFilterSync(options: CgroupFilterSyncOptions): CgroupFilterSync {
  const log = options.log ?? (() => undefined);
  const run = options.run ?? (async (_l: string, fn: () => void) => fn());
  let root: string | undefined;
  try {
    root = options.root ?? findCgroup2Mount();
  } catch { /* no mountinfo: no filters */ }
  const maxCgroups = options.maxCgroups ?? 65536;
  const interval = options.rescanIntervalMs ?? 10_000;
  const minRescan = options.minRescanMs ?? 1000;

  let set: Pick<PolicySetSpec, 'default'> = { default: 'keep' };
  let rules: readonly CompiledRule[] = [];
  let targets: readonly CgroupFilterTarget[] = [];
  const resolved = new Map<AgentProbeName, CgroupFilterResolution>();
  const fallbacks = new Map<string, number>();
  /** Each probe's fallback at its last write with the policy's list (suspensions do not count as changes). */
  const lastFallback = new Map<AgentProbeName, CgroupFilterResolution['fallback']>();
  /** Probes whose filter is off for live-stream subscribers. */
  let suspended = new Set<AgentProbeName>();
  let demandApplied: Promise<void> = Promise.resolve();
  let rescans = 0;
  /** Highest id of the last completed walk: newer ids ask for a rescan. */
  let lastWalkMax = Infinity;
  /** Highest id of the walk before: the allow lists' known_max_id. */
  let prevWalkMax: number | undefined;
  let lastRefreshAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let closed = false;

  const walk = (): { cgroups: Map<number, SelectorSubject>; complete: boolean; max: number } => {
    const { cgroups, overflow } = walkCgroups(root!, maxCgroups);
    const subjects = new Map<number, SelectorSubject>();
    let max = 0;
    for (const [id, path] of cgroups) {
      subjects.set(id, options.subject(path));
      if (id > max) max = id;
    }
    return { cgroups: subjects, complete: overflow === 0, max };
  };

  const write = (): void => {
    const active = targets.map((t) => {
      const planned = analyzeCgroupFilter(set, rules, t.probe);
      // Without a cgroup2 mount no id can be classified: nothing is filtered.
      const a = root === undefined ? { ...planned, mode: 'off' as const, reason: 'no cgroup2 filesystem is mounted' } : planned;
      // Only a filter that would filter something is reported as suspended.
      return { t, a, live: a.mode !== 'off' && suspended.has(t.probe) };
    });
    let tree: ReturnType<typeof walk> | undefined;
    if (active.some((x) => x.a.mode !== 'off' && !x.live)) {
      if (prevWalkMax === undefined) prevWalkMax = walk().max; // first time: one walk to fix the watermark
      tree = walk();
      rescans++;
    }
    const knownMaxId = prevWalkMax ?? 0;
    for (const { t, a, live } of active) {
      const r: CgroupFilterResolution = live
        ? {
          probe: t.probe, mode: 'off', ids: [], cgroups: 0, suspended: true,
          reason: `suspended while live-stream subscribers want every ${t.probe} record (the policy's ${a.mode} list applies again when they leave)`,
        }
        : resolveCgroupFilter(a, tree?.cgroups ?? new Map(), Math.min(t.filter.capacity, options.maxIds ?? Infinity), tree?.complete ?? true);
      const before = resolved.get(t.probe);
      try {
        t.filter.set({ mode: r.mode, ids: r.ids, knownMaxId });
      } catch (err) {
        if (err instanceof MaxproError && err.code === 'MAXPRO_ERR_CLOSED') continue; // unloaded meanwhile
        log(`${t.probe} cgroup filter: ${err instanceof Error ? err.message : String(err)}; the filter is off`);
        resolved.set(t.probe, { ...r, mode: 'off', ids: [], reason: `writing the filter failed: ${String(err)}` });
        continue;
      }
      resolved.set(t.probe, r);
      if (!live) {
        if (r.fallback && lastFallback.get(t.probe) !== r.fallback) {
          const k = `${t.probe}\u0000${r.fallback}`;
          fallbacks.set(k, (fallbacks.get(k) ?? 0) + 1);
        }
        lastFallback.set(t.probe, r.fallback);
      }
      // As the TCP probe logs its live-stream switch.
      if (live && !before?.suspended) log(`${t.probe}: kernel cgroup filter off for live-stream subscribers (the policy's ${a.mode} list is suspended)`);
      else if (!live && before?.suspended) log(`${t.probe}: kernel cgroup filter back to the policy's setting: ${r.mode}: ${r.reason}`);
      else if (!live && (!before || before.mode !== r.mode || before.fallback !== r.fallback)) log(`${t.probe} cgroup filter: ${r.mode}: ${r.reason}`);
    }
    if (tree) {
      prevWalkMax = tree.max;
      lastWalkMax = tree.max;
    } else lastWalkMax = Infinity;
    lastRefreshAt = performance.now();
  };

  const refresh = async (): Promise<void> => {
    if (soon) clearTimeout(soon);
    soon = undefined;
    if (closed) return;
    try {
      await run('cgroup-filter', write);
    } catch (err) {
      if (!(err instanceof MaxproError && err.code === 'MAXPRO_ERR_CLOSED')) log(`cgroup filter: ${String(err)}`);
    }
  };

  const schedule = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
    const on = !closed && [...resolved.values()].some((r) => r.mode !== 'off' || r.fallback);
    if (on) {
      timer = setInterval(() => void refresh(), interval);
      timer.unref();
    }
  };

  return {
    async update(nextSet, nextRules, nextTargets) {
      set = nextSet;
      rules = nextRules;
      targets = [...nextTargets];
      for (const p of [...resolved.keys()]) {
        if (targets.some((t) => t.probe === p)) continue;
        resolved.delete(p);
        lastFallback.delete(p);
      }
      await refresh();
      schedule();
    },
    seen(id) {
      if (id <= lastWalkMax || soon || closed) return;
      soon = setTimeout(() => void refresh(), Math.max(0, minRescan - (performance.now() - lastRefreshAt)));
      soon.unref();
    },
    setLiveDemand(probes) {
      const next = new Set(probes);
      // Unchanged: the write that applies this set may still be queued; answer when it is done.
      if (next.size === suspended.size && [...next].every((p) => suspended.has(p))) return demandApplied;
      suspended = next;
      demandApplied = refresh().then(schedule);
      return demandApplied;
    },
    refresh,
    resolutions: () => [...resolved.values()],
    metrics() {
      const filtered: MetricFamily = { name: 'maxpro_policy_kernel_filtered_events', type: 'counter', help: 'Records a probe\'s cgroup filter dropped in the kernel by policy (decided early, not lost), by reason.', samples: [] };
      const mode: MetricFamily = { name: 'maxpro_policy_cgroup_filter_mode', type: 'gauge', help: 'The cgroup filter mode in force per probe (1 for the active mode).', samples: [] };
      const ids: MetricFamily = { name: 'maxpro_policy_cgroup_filter_cgroups', type: 'gauge', help: 'Cgroup ids in each probe\'s kernel allow or deny list.', samples: [] };
      const fb: MetricFamily = { name: 'maxpro_policy_cgroup_filter_fallbacks', type: 'counter', help: 'Times a planned cgroup list was turned off (too many cgroups, incomplete scan): user space filtered instead.', samples: [] };
      const susp: MetricFamily = { name: 'maxpro_policy_cgroup_filter_suspended', type: 'gauge', help: '1 while a probe\'s cgroup filter is off in the kernel because live-stream subscribers want its records.', samples: [] };
      const scans: MetricFamily = { name: 'maxpro_policy_cgroup_filter_rescans', type: 'counter', help: 'Walks of the cgroup tree to refresh the kernel cgroup lists.', samples: [{ labels: {}, value: rescans }] };
      for (const t of targets) {
        let counts: Record<string, number> | undefined;
        try {
          counts = t.filter.filtered();
        } catch { /* unloaded meanwhile */ }
        for (const reason of CGROUP_FILTER_REASONS) filtered.samples.push({ labels: { probe: t.probe, reason }, value: counts?.[reason] ?? 0 });
        const st = t.filter.state();
        for (const m of CGROUP_FILTER_MODES) mode.samples.push({ labels: { probe: t.probe, mode: m }, value: st.mode === m ? 1 : 0 });
        ids.samples.push({ labels: { probe: t.probe }, value: st.ids });
        susp.samples.push({ labels: { probe: t.probe }, value: resolved.get(t.probe)?.suspended ? 1 : 0 });
      }
      for (const [k, v] of fallbacks) {
        const [probe, reason] = k.split('\u0000');
        fb.samples.push({ labels: { probe: probe!, reason: reason! }, value: v });
      }
      return [filtered, mode, ids, susp, fb, scans];
    },
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      if (soon) clearTimeout(soon);
      timer = undefined;
      soon = undefined;
    },
  };
}
