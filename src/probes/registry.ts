// SPDX-License-Identifier: Apache-2.0
/** Every probe, one line each; the agent, policies, the live stream and the CLI list probes from here. */
import { PROCESS_MODULE } from './process/process-module.js';
import { TCP_MODULE } from './tcp/tcp-module.js';

export const PROBE_MODULES = [
  PROCESS_MODULE,
  TCP_MODULE,
] as const;

export type ProbeName = (typeof PROBE_MODULES)[number]['name'];

/** The names in registry order (a non-empty tuple, as schema enums need). */
export const PROBE_NAMES = PROBE_MODULES.map((m) => m.name) as readonly ProbeName[] as readonly [ProbeName, ...ProbeName[]];
