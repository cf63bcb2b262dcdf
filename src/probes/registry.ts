// SPDX-License-Identifier: Apache-2.0
/**
 * Every probe, one line each. The agent, policies, the live stream, the
 * config schema and the CLI list probes from here; nothing else names one.
 */
import type { ProbeModule } from './probe-module.js';
import { PROCESS_MODULE } from './process/process-module.js';
import { TCP_MODULE } from './tcp/tcp-module.js';
import { SYSENTER_MODULE } from './sysenter/sysenter-module.js';

export const PROBE_MODULES = [
  PROCESS_MODULE,
  TCP_MODULE,
  SYSENTER_MODULE,
] as const;

/** The union of the registered modules, as declared. */
export type RegisteredModule = (typeof PROBE_MODULES)[number];
type Modules = RegisteredModule;

export type ProbeName = Modules['name'];

/** The names in registry order (a non-empty tuple, as schema enums need). */
export const PROBE_NAMES = PROBE_MODULES.map((m) => m.name) as readonly ProbeName[] as readonly [ProbeName, ...ProbeName[]];

/** Each probe's kernel settings type, for the probes with a push-down. */
export type ProbeKernelSettings = {
  [M in Modules as M extends { pushDown: unknown } ? M['name'] : never]: M extends { pushDown: { none(): infer K } } ? K : never;
};

/** Every module as the contract sees it (for code that iterates and does not care which one). */
export function probeModules(): readonly ProbeModule[] {
  return PROBE_MODULES as unknown as readonly ProbeModule[];
}

const BY_NAME: ReadonlyMap<string, ProbeModule> = new Map(probeModules().map((m) => [m.name, m]));

/** The module of a probe name, or undefined. */
export function probeModule(name: string): ProbeModule | undefined {
  return BY_NAME.get(name);
}
