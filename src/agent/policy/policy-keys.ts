// SPDX-License-Identifier: Apache-2.0
/**
 * The closed vocabularies of a policy, kept apart from the schema so that
 * the running agent can use them without loading the schema library.
 */

export const POLICY_PROBES = ['process', 'tcp'] as const;
export type PolicyProbe = (typeof POLICY_PROBES)[number];

/** Keys a rate limit can be counted by. */
export const RATE_LIMIT_KEYS = ['cgroup', 'pod', 'container', 'workload', 'namespace', 'comm', 'exe', 'pid', 'rule'] as const;
export type RateLimitKey = (typeof RATE_LIMIT_KEYS)[number];
