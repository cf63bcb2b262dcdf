// SPDX-License-Identifier: Apache-2.0
/**
 * The policy type, defined once: the agent's config file and the Kubernetes
 * CRD both hold a list of `PolicySpec`s. A policy selects workloads by label
 * (`selector`), events by behaviour (`when`), and decides: keep, drop, or
 * keep under a per-key rate limit. Policies are evaluated in order; the first
 * one that matches decides, and `default` decides the rest.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../../lib/errors.js';
import { parseSelector } from './selector.js';
import { parsePredicates } from './predicate.js';

import { POLICY_PROBES, RATE_LIMIT_KEYS } from './policy-keys.js';

function refineParse<T>(parse: (v: T) => unknown) {
  return (v: T, ctx: z.RefinementCtx<T>): void => {
    try {
      parse(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof InvalidArgumentError ? err.message : String(err) });
    }
  };
}

/** The schema of one policy. */
export const POLICY_SPEC_SCHEMA = z.object({
  name: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a policy name is lower-case letters, digits and dashes').max(63),
  description: z.string().max(1024).optional(),
  probes: z.array(z.enum(POLICY_PROBES)).min(1).optional()
    .describe('Probes whose events the policy applies to. Default: the probes its predicates name, else all.'),
  selector: z.string().max(4096).superRefine(refineParse(parseSelector)).optional()
    .describe('Label selector, e.g. "app=payment,env in (prod,staging)". Empty or absent: every workload.'),
  when: z.union([z.string(), z.array(z.string()).min(1)]).superRefine(refineParse<string | string[]>((v) => parsePredicates(v))).optional()
    .describe('Behaviour predicates, ANDed, e.g. "tcp.connect.latency > 100ms".'),
  action: z.enum(['keep', 'drop']),
  rateLimit: z.object({
    perSecond: z.number().positive().max(1e6),
    burst: z.number().int().min(1).max(1e7).optional(),
    by: z.array(z.enum(RATE_LIMIT_KEYS)).min(1).optional().describe('Rate-limit key fields. Default: cgroup.'),
  }).strict().optional().describe('With action keep: at most perSecond events per key (token bucket).'),
}).strict().superRefine((p, ctx) => {
  if (p.rateLimit && p.action !== 'keep') ctx.addIssue({ code: 'custom', path: ['rateLimit'], message: 'rateLimit applies only to action keep' });
  if (p.when !== undefined && p.probes) {
    try {
      for (const pred of parsePredicates(p.when)) {
        if (!p.probes.includes(pred.def.probe)) {
          ctx.addIssue({ code: 'custom', path: ['when'], message: `${pred.field} is a ${pred.def.probe} field but the policy applies to ${p.probes.join(', ')}` });
        }
      }
    } catch { /* reported on `when` */ }
  }
});

/** One policy, as written in the config file or the CRD spec. */
export type PolicySpec = z.infer<typeof POLICY_SPEC_SCHEMA>;

/** The `policy:` section: the ordered rules and what happens to the rest. */
export const POLICY_SET_SCHEMA = z.object({
  default: z.enum(['keep', 'drop']).default('keep').describe('Action for events no policy matches.'),
  rules: z.array(POLICY_SPEC_SCHEMA).max(256).default([]),
}).strict().superRefine((s, ctx) => {
  const seen = new Set<string>();
  s.rules.forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate policy name ${JSON.stringify(r.name)}` });
    seen.add(r.name);
  });
});

export type PolicySetSpec = z.infer<typeof POLICY_SET_SCHEMA>;
