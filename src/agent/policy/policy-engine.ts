// SPDX-License-Identifier: Apache-2.0
/**
 * Evaluates a compiled policy set in user space: the first rule whose probes,
 * selector and predicates match decides; `default` decides the rest. Kept
 * events under a rate limit take a token from the rule's bucket.
 */
import type { AgentEvent, AgentProbeName } from '../agent-event.js';
import type { PolicySetSpec, PolicySpec } from './policy.js';
import { POLICY_PROBES } from './policy-keys.js';
import type { RateLimitKey } from './policy-keys.js';
import { matchesSelector, parseSelector, selectorValue } from './selector.js';
import type { Selector } from './selector.js';
import { evaluatePredicate, parsePredicates } from './predicate.js';
import type { Predicate } from './predicate.js';
import { createTokenBucket } from '../../lib/token-bucket.js';
import type { TokenBucket } from '../../lib/token-bucket.js';

export interface CompiledRule {
  spec: PolicySpec;
  probes: readonly AgentProbeName[];
  selector: Selector;
  predicates: readonly Predicate[];
  bucket: TokenBucket | undefined;
}

/** Why an event was not kept. */
export type PolicyDropReason = 'policy_drop' | 'rate_limited' | 'default_drop';

export interface PolicyDecision {
  keep: boolean;
  /** The deciding rule, or undefined for the default. */
  rule: string | undefined;
  reason?: PolicyDropReason;
}

export interface PolicyEngineStats {
  /** Per rule (and `(default)`): events kept and dropped. */
  rules: Record<string, { kept: number; dropped: number; rateLimited: number }>;
}

export interface PolicyEngine {
  readonly spec: PolicySetSpec;
  readonly rules: readonly CompiledRule[];
  decide(event: AgentEvent): PolicyDecision;
  stats(): PolicyEngineStats;
}

export interface PolicyEngineOptions {
  /** Clock for rate limits, ms (tests). */
  now?: () => number;
  /** Rate-limit keys tracked per rule. Default 4096. */
  maxKeysPerRule?: number;
}

/** The probes a rule applies to: explicit, else those its predicates name, else all. */
export function ruleProbes(spec: PolicySpec, predicates: readonly Predicate[]): AgentProbeName[] {
  if (spec.probes) return [...spec.probes];
  const named = [...new Set(predicates.map((p) => p.def.probe))];
  return named.length ? named : [...POLICY_PROBES];
}

/** Compiles one rule. May throw `InvalidArgumentError` (the config schema has already checked the strings). */
export function compileRule(spec: PolicySpec, options: PolicyEngineOptions = {}): CompiledRule {
  const predicates = parsePredicates(spec.when);
  return {
    spec,
    probes: ruleProbes(spec, predicates),
    selector: parseSelector(spec.selector ?? ''),
    predicates,
    bucket: spec.rateLimit
      ? createTokenBucket({
        ratePerSecond: spec.rateLimit.perSecond,
        ...(spec.rateLimit.burst !== undefined ? { burst: spec.rateLimit.burst } : {}),
        ...(options.maxKeysPerRule !== undefined ? { maxKeys: options.maxKeysPerRule } : {}),
        ...(options.now ? { now: options.now } : {}),
      })
      : undefined,
  };
}

function rateKey(rule: CompiledRule, e: AgentEvent): string {
  const by: readonly RateLimitKey[] = rule.spec.rateLimit?.by ?? ['cgroup'];
  return by.map((k) => {
    switch (k) {
      case 'cgroup': return String(e.cgroupId);
      case 'pid': return String(e.tgid);
      case 'rule': return rule.spec.name;
      case 'comm': return e.comm;
      default: return selectorValue(e.workload, k) ?? '';
    }
  }).join('\u0000');
}

export function createPolicyEngine(spec: PolicySetSpec, options: PolicyEngineOptions = {}): PolicyEngine {
  const rules = spec.rules.map((r) => compileRule(r, options));
  const counts: PolicyEngineStats['rules'] = {};
  for (const r of [...rules.map((x) => x.spec.name), '(default)']) counts[r] = { kept: 0, dropped: 0, rateLimited: 0 };

  return {
    spec,
    rules,
    decide(e) {
      for (const r of rules) {
        if (!r.probes.includes(e.probe)) continue;
        if (!matchesSelector(r.selector, e.workload)) continue;
        let ok = true;
        for (const p of r.predicates) {
          if (!evaluatePredicate(p, e.fields[p.field])) { ok = false; break; }
        }
        if (!ok) continue;
        const c = counts[r.spec.name]!;
        if (r.spec.action === 'drop') {
          c.dropped++;
          return { keep: false, rule: r.spec.name, reason: 'policy_drop' };
        }
        if (r.bucket && !r.bucket.take(rateKey(r, e))) {
          c.rateLimited++;
          return { keep: false, rule: r.spec.name, reason: 'rate_limited' };
        }
        c.kept++;
        return { keep: true, rule: r.spec.name };
      }
      const d = counts['(default)']!;
      if (spec.default === 'drop') {
        d.dropped++;
        return { keep: false, rule: undefined, reason: 'default_drop' };
      }
      d.kept++;
      return { keep: true, rule: undefined };
    },
    stats: () => ({ rules: structuredClone(counts) }),
  };
}
