// SPDX-License-Identifier: Apache-2.0
/**
 * Which cgroups a probe may filter in the kernel, per probe. The question is
 * asked of each cgroup: are all of its records certainly dropped? They are
 * when, of the rules that apply to the probe, the first one whose selector
 * can match the cgroup is a drop rule with a cgroup-only selector and no
 * predicate, or when no rule can match and the default is drop. Anything else
 * (a keep rule, a predicate, a comm/exe term that might or might not hold)
 * means some record might be kept, so the kernel must let it through.
 *
 * The verdict then has two kernel forms, chosen per rule set:
 * - allow list: the cgroups not certainly dropped. Used when the default is
 *   drop and every keep rule names cgroups (a label, namespace, workload,
 *   pod, container or cgroup term) that an unlabelled cgroup cannot match:
 *   few cgroups, new ones pass until the next scan classifies them
 *   (known_max_id).
 * - deny list: the cgroups certainly dropped, when there are drop rules with
 *   cgroup-only selectors that no keep rule shadows, or when a keep rule
 *   with a negative term (app!=x) could match an unlabelled cgroup. New and
 *   unknown cgroups pass.
 * Otherwise the filter is off. User space still evaluates every rule exactly.
 */
import type { AgentProbeName } from '../agent-event.js';
import type { CgroupFilterMode } from '../../probes/cgroup-filter.js';
import type { CompiledRule } from './policy-engine.js';
import type { PolicySetSpec } from './policy.js';
import { matchesSelector } from './selector.js';
import type { Selector, SelectorSubject } from './selector.js';

/** What user space sees of a cgroup it cannot resolve. */
const UNLABELLED: SelectorSubject = { labels: {}, attributes: {} };

/** Selector keys that depend on the process, not on the cgroup. */
const PROCESS_KEYS: readonly string[] = ['comm', 'exe'];

export interface CgroupFilterPlan {
  probe: AgentProbeName;
  /** The kernel form; `off` when nothing can be decided by cgroup. */
  mode: CgroupFilterMode;
  /** Why, in one sentence. */
  reason: string;
  /** Rules whose selectors define the list. */
  rules: string[];
}

/** A plan plus the per-cgroup verdict that fills its list. */
export interface CgroupFilterAnalysis extends CgroupFilterPlan {
  /** True when every record of a cgroup with this (path-derived) subject is dropped by the rules. */
  certainlyDropped(subject: SelectorSubject): boolean;
}

/** The ids for a plan on the cgroups that exist now. */
export interface CgroupFilterResolution {
  probe: AgentProbeName;
  /** What the kernel should hold: the plan's mode, or off after a fallback. */
  mode: CgroupFilterMode;
  ids: number[];
  /** The cgroups looked at. */
  cgroups: number;
  /** Set when the plan's mode could not be used. */
  fallback?: 'too_many_cgroups' | 'cgroup_scan_incomplete';
  /** Set while live-stream subscribers want the probe's records: the planned list is off in the kernel. */
  suspended?: boolean;
  reason: string;
}

interface RuleShape {
  rule: CompiledRule;
  /** The terms that depend on the cgroup only. */
  cgroupPart: Selector;
  /** Has a comm or exe term. */
  processTerms: boolean;
}

function shape(rule: CompiledRule): RuleShape {
  const terms = rule.selector.terms.filter((t) => !PROCESS_KEYS.includes(t.key));
  return { rule, cgroupPart: { source: rule.selector.source, terms }, processTerms: terms.length !== rule.selector.terms.length };
}

/** Drops every record of the cgroups its selector matches. */
function unconditionalDrop(s: RuleShape): boolean {
  return s.rule.spec.action === 'drop' && s.rule.predicates.length === 0 && !s.processTerms && s.cgroupPart.terms.length > 0;
}

/**
 * Decides the kernel form for one probe. `supported` false (the probe has
 * no filter map) gives mode off with that reason.
 */
export function analyzeCgroupFilter(
  set: Pick<PolicySetSpec, 'default'>, compiled: readonly CompiledRule[], probe: AgentProbeName, supported = true,
): CgroupFilterAnalysis {
  const applicable = compiled.filter((r) => r.probes.includes(probe));
  // A drop rule without selector or predicate ends evaluation for the probe: it is the default.
  const catchAll = applicable.findIndex((r) => r.spec.action === 'drop' && r.selector.terms.length === 0 && r.predicates.length === 0);
  const effDefault = catchAll >= 0 ? 'drop' : set.default;
  const reachable = (catchAll >= 0 ? applicable.slice(0, catchAll) : applicable).map(shape);
  const certainlyDropped = (subject: SelectorSubject): boolean => {
    for (const s of reachable) {
      if (!matchesSelector(s.cgroupPart, subject)) continue;
      return unconditionalDrop(s);
    }
    return effDefault === 'drop';
  };
  const off = (reason: string): CgroupFilterAnalysis => ({ probe, mode: 'off', reason, rules: [], certainlyDropped });
  if (!supported) return off(`the ${probe} probe has no cgroup filter map`);

  const universal = reachable.findIndex((s) => s.rule.spec.action === 'keep' && s.cgroupPart.terms.length === 0);
  const drops = (universal >= 0 ? reachable.slice(0, universal) : reachable).filter(unconditionalDrop).map((s) => s.rule.spec.name);
  const keeps = reachable.filter((s) => s.rule.spec.action === 'keep').map((s) => s.rule.spec.name);
  // An allow list filters every cgroup it does not list, including ones user space cannot label
  // (a socket's cgroup removed since): sound only when the rules drop an unlabelled cgroup too.
  if (effDefault === 'drop' && universal < 0 && !certainlyDropped(UNLABELLED)) {
    return {
      probe, mode: 'deny', rules: [...drops, ...keeps], certainlyDropped,
      reason: `a keep rule (${keeps.join(', ')}) can match a cgroup without labels (a negative term such as key!=value): the cgroups no keep rule can match are filtered`,
    };
  }
  if (effDefault === 'drop' && universal < 0) {
    return {
      probe, mode: 'allow', rules: keeps, certainlyDropped,
      reason: keeps.length
        ? `default drop and every ${probe} keep rule names cgroups: only cgroups one of them can match (${keeps.join(', ')}) pass`
        : `no rule keeps ${probe} records: every known cgroup is filtered`,
    };
  }
  if (drops.length) {
    return {
      probe, mode: 'deny', rules: drops, certainlyDropped,
      reason: `drop rules with cgroup-only selectors and no predicate (${drops.join(', ')}): their cgroups are filtered`,
    };
  }
  if (universal >= 0) {
    const r = reachable[universal]!.rule.spec.name;
    return off(`keep rule ${r} can match any cgroup (no label, namespace, workload, pod, container or cgroup term): every cgroup must pass`);
  }
  return off(`default keep and no drop rule with a cgroup-only selector and no predicate: every cgroup must pass`);
}

/**
 * Fills a plan's list from the cgroups that exist (id -> subject). More ids
 * than `capacity`, or a walk that could not see every cgroup while the list
 * is an allow list, turn the filter off: never filter what should be kept.
 */
export function resolveCgroupFilter(
  analysis: CgroupFilterAnalysis, cgroups: ReadonlyMap<number, SelectorSubject>, capacity: number, complete = true,
): CgroupFilterResolution {
  const base = { probe: analysis.probe, cgroups: cgroups.size };
  if (analysis.mode === 'off') return { ...base, mode: 'off', ids: [], reason: analysis.reason };
  if (!complete && analysis.mode === 'allow') {
    return { ...base, mode: 'off', ids: [], fallback: 'cgroup_scan_incomplete', reason: 'the cgroup tree is larger than the scan limit: an allow list could miss cgroups' };
  }
  const ids: number[] = [];
  const wantDropped = analysis.mode === 'deny';
  for (const [id, subject] of cgroups) if (analysis.certainlyDropped(subject) === wantDropped) ids.push(id);
  if (ids.length > capacity) {
    return { ...base, mode: 'off', ids: [], fallback: 'too_many_cgroups', reason: `${ids.length} cgroups exceed the filter's ${capacity}: user space filters` };
  }
  const what = analysis.mode === 'allow' ? 'allow' : 'deny';
  return { ...base, mode: analysis.mode, ids, reason: `cgroup ${what} list (${ids.length} of ${cgroups.size} cgroups)` };
}
