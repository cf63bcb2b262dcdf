// SPDX-License-Identifier: Apache-2.0
/**
 * Push-down planning: decides which parts of a policy set run in the kernel.
 * The kernel filter must let through every record some rule could keep (a
 * superset); user space then evaluates every rule exactly. Each probe with a
 * push-down (its module's `pushDown`) turns the predicates it has a kernel
 * form for into its kernel settings (for TCP: thresholds and flags in the
 * `tcp_policy` map). A keep rule with nothing pushable, or a default of keep,
 * makes that probe stream every record. Selectors that depend on the cgroup
 * alone become a per-probe cgroup allow or deny list (cgroup-filter-plan.ts)
 * when the probe has the filter map.
 */
import type { AgentProbeName } from '../agent-event.js';
import type { PolicySetSpec } from './policy.js';
import { POLICY_PROBES } from './policy-keys.js';
import { analyzeCgroupFilter } from './cgroup-filter-plan.js';
import type { CgroupFilterAnalysis, CgroupFilterPlan, CgroupFilterResolution } from './cgroup-filter-plan.js';
import { compileRule } from './policy-engine.js';
import type { CompiledRule } from './policy-engine.js';
import { probeModules } from '../../probes/registry.js';
import type { ProbeKernelSettings } from '../../probes/registry.js';
import type { ProbeModule, ProbePushDown } from '../../probes/probe-module.js';

export type Placement = 'kernel' | 'user space';

export interface PlacedPart {
  what: string;
  where: Placement;
  how: string;
}

export interface RulePlan {
  rule: string;
  action: string;
  probes: readonly string[];
  parts: PlacedPart[];
}

/** Per probe with a push-down, its kernel settings (under the probe's name), and the rest of the plan. */
export type PushDownPlan = ProbeKernelSettings & {
  /** Per probe: the cgroup filter's kernel form. */
  cgroupFilters: CgroupFilterPlan[];
  rules: RulePlan[];
  /** Why the kernel filters are what they are. */
  notes: string[];
};

/** What the loaded probes can filter in the kernel. */
export interface PushDownCapabilities {
  /** Probes built with the cgroup filter maps (maxpro/cgroup_filter.bpf.h). */
  cgroupFilter: Partial<Record<AgentProbeName, boolean>>;
}

/** This build: what each module declares (the agent asks the loaded sources instead). */
export const DEFAULT_CAPABILITIES: PushDownCapabilities = {
  cgroupFilter: Object.fromEntries(probeModules().map((m) => [m.name, m.cgroupFilter])),
};

function selectorPlacement(rule: string, probe: AgentProbeName, a: CgroupFilterAnalysis, res: CgroupFilterResolution | undefined): Omit<PlacedPart, 'what'> {
  if (a.mode === 'off') return { where: 'user space', how: a.reason };
  if (!a.rules.includes(rule)) {
    return { where: 'user space', how: `not part of the ${probe} cgroup ${a.mode} list (${a.mode === 'allow' ? 'it cannot keep records' : 'a predicate, comm/exe term or earlier keep rule'})` };
  }
  // Off for now (a fallback, suspended for live-stream subscribers, a failed write): user space filters.
  if (res?.mode === 'off') return { where: 'user space', how: `cgroup ${a.mode} list planned, but ${res.reason}` };
  const n = res ? ` (${res.ids.length} cgroups)` : ' (cgroup ids resolved at run time)';
  return { where: 'kernel', how: `cgroup ${a.mode} list${n}; labels resolve to cgroup ids in user space, which re-checks them` };
}

/** One probe's push-down while the rules are walked. */
interface ProbePlan {
  module: ProbeModule;
  push: ProbePushDown<unknown>;
  label: string;
  kernel: unknown;
  streams: boolean;
  /** A drop rule for the probe with no selector and no predicate: later rules never see its records. */
  catchAll: number;
}

export function planPushDown(set: PolicySetSpec, caps: PushDownCapabilities = DEFAULT_CAPABILITIES, resolved: readonly CgroupFilterResolution[] = []): PushDownPlan {
  const notes: string[] = [];
  const rules: RulePlan[] = [];
  const compiled: CompiledRule[] = set.rules.map((r) => compileRule(r));
  const cg = new Map(POLICY_PROBES.map((p) => [p, analyzeCgroupFilter(set, compiled, p, caps.cgroupFilter[p] ?? false)]));
  const probes: ProbePlan[] = probeModules().flatMap((m) => {
    if (!m.pushDown) return [];
    const label = m.label ?? m.name;
    const catchAll = compiled.findIndex((r) => r.probes.includes(m.name as AgentProbeName) && r.spec.action === 'drop' && r.selector.terms.length === 0 && r.predicates.length === 0);
    const p: ProbePlan = { module: m, push: m.pushDown, label, kernel: m.pushDown.none(), streams: false, catchAll };
    if ((catchAll >= 0 ? 'drop' : set.default) === 'keep') {
      p.streams = true;
      notes.push(`default is keep for ${label}: the ${label} probe streams every record and user space applies the rules`);
    } else if (catchAll >= 0) {
      notes.push(`rule ${compiled[catchAll]!.spec.name} drops every remaining ${label} record: it acts as the ${label} default`);
    }
    return [p];
  });
  for (const [i, r] of compiled.entries()) {
    const parts: PlacedPart[] = [];
    // The probes with a push-down this rule can keep records of.
    const on = probes.filter((p) => r.probes.includes(p.module.name as AgentProbeName) && (p.catchAll < 0 || i <= p.catchAll));
    if (r.selector.terms.length) {
      const placed = r.probes.map((p) => ({ probe: p, ...selectorPlacement(r.spec.name, p, cg.get(p)!, resolved.find((x) => x.probe === p)) }));
      const same = placed.every((x) => x.where === placed[0]!.where && x.how === placed[0]!.how);
      for (const x of same ? placed.slice(0, 1) : placed) {
        parts.push({ what: same ? `selector ${r.selector.source}` : `selector ${r.selector.source} [${x.probe}]`, where: x.where, how: x.how });
      }
    }
    // A rule keeps when all its predicates hold: one kernel condition per probe is a superset.
    const pushed = new Set<ProbePlan>();
    for (const pred of r.predicates) {
      let kernel: { p: ProbePlan; how: string } | undefined;
      if (r.spec.action === 'keep') {
        for (const p of on) {
          const push = p.push.predicate(pred);
          if (!push) continue;
          if (!pushed.has(p)) {
            pushed.add(p);
            push.apply(p.kernel);
          }
          kernel = { p, how: push.how };
          break;
        }
      }
      if (kernel) parts.push({ what: pred.source, where: 'kernel', how: `${kernel.how} (also re-checked in user space)` });
      else parts.push({ what: pred.source, where: 'user space', how: r.spec.action === 'drop' ? 'drop rules are exact in user space' : 'no kernel form for this comparison' });
    }
    if (r.spec.rateLimit) {
      parts.push({ what: `rate limit ${r.spec.rateLimit.perSecond}/s by ${(r.spec.rateLimit.by ?? ['cgroup']).join('+')}`, where: 'user space', how: 'token bucket per key' });
    }
    for (const p of on) {
      if (r.spec.action === 'keep' && !pushed.has(p) && !p.streams) {
        p.streams = true;
        notes.push(`rule ${r.spec.name} keeps ${p.label} records with no kernel-side condition: the ${p.label} probe streams every record`);
      }
    }
    parts.push({ what: `action ${r.spec.action}`, where: 'user space', how: 'first matching rule decides' });
    rules.push({ rule: r.spec.name, action: r.spec.action, probes: r.probes, parts });
  }
  const kernel: Record<string, unknown> = {};
  for (const p of probes) {
    if (p.streams) kernel[p.module.name] = p.push.everything();
    else {
      kernel[p.module.name] = p.kernel;
      const counts = p.push.filteredNote ? ` (${p.push.filteredNote})` : '';
      notes.push(`every ${p.label} keep rule has a kernel condition: the ${p.label} probe emits only records that pass one of them${counts}`);
    }
  }
  for (const a of cg.values()) {
    const res = resolved.find((x) => x.probe === a.probe);
    notes.push(`${a.probe} cgroup filter: ${a.mode === 'off' ? 'off' : `${a.mode} list`}: ${a.reason}${a.mode !== 'off' && res?.mode === 'off' ? `; off for now: ${res.reason}` : ''}`);
  }
  const cgroupFilters = [...cg.values()].map(({ probe, mode, reason, rules: r }) => ({ probe, mode, reason, rules: r }));
  return { ...(kernel as ProbeKernelSettings), cgroupFilters, rules, notes };
}

/** Each probe's kernel settings in a plan, with its module: for `policy explain` and `config check`. */
export function kernelSettings(plan: PushDownPlan): { probe: string; push: ProbePushDown<unknown>; settings: unknown }[] {
  return probeModules().flatMap((m) => (m.pushDown ? [{ probe: m.name, push: m.pushDown, settings: (plan as unknown as Record<string, unknown>)[m.name] }] : []));
}

/** The text `maxpro policy explain` prints; `resolved` adds the cgroup counts of this machine. */
export function formatPlan(set: PolicySetSpec, plan: PushDownPlan, resolved: readonly CgroupFilterResolution[] = []): string {
  const lines: string[] = [];
  lines.push(`default action: ${set.default}`);
  for (const r of plan.rules) {
    lines.push('', `rule ${r.rule} (${r.action}; probes: ${r.probes.join(', ')})`);
    const w = Math.max(...r.parts.map((p) => p.what.length));
    for (const p of r.parts) lines.push(`  ${p.what.padEnd(w)}  ${p.where.padEnd(10)}  ${p.how}`);
  }
  lines.push('', 'kernel settings:', ...kernelSettings(plan).map((k) => `  ${k.push.describe(k.settings)}`));
  for (const c of plan.cgroupFilters) {
    const res = resolved.find((x) => x.probe === c.probe);
    const now = res ? (res.mode === 'off' ? ` (off for now: ${res.reason})` : ` (${res.ids.length} of ${res.cgroups} cgroups)`) : '';
    lines.push(`  ${c.probe} cgroup filter: ${c.mode}${c.mode === 'off' ? '' : now}`);
  }
  lines.push('', 'notes:', ...plan.notes.map((n) => `  - ${n}`));
  return lines.join('\n') + '\n';
}
