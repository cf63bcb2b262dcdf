// SPDX-License-Identifier: Apache-2.0
/**
 * The closed vocabularies of a policy, kept apart from the schema so that
 * the running agent can use them without loading the schema library.
 */

import { PROBE_NAMES } from '../../probes/registry.js';
import type { ProbeName } from '../../probes/registry.js';

export const POLICY_PROBES = PROBE_NAMES;
export type PolicyProbe = ProbeName;

/** Keys a rate limit can be counted by. */
export const RATE_LIMIT_KEYS = ['cgroup', 'pod', 'container', 'workload', 'namespace', 'comm', 'exe', 'pid', 'rule'] as const;
export type RateLimitKey = (typeof RATE_LIMIT_KEYS)[number];
