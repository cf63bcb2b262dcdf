// SPDX-License-Identifier: Apache-2.0
/**
 * The flags `trace exec`, `trace tcp` and `top tcp` share: the workload
 * filters (--comm --pid --container --pod --namespace --failed) and where
 * the events come from (--agent URL, --local). One place owns their
 * parseArgs specs, validation and help lines, so the commands agree.
 */
import { defaultAgentUrl } from '../agent/http/live-stream-client.js';
import { InvalidArgumentError } from '../lib/errors.js';

/** parseArgs specs of the workload filters. */
export const WORKLOAD_FILTER_OPTIONS = {
  comm: { type: 'string' },
  pid: { type: 'string' },
  container: { type: 'string' },
  pod: { type: 'string' },
  namespace: { type: 'string' },
  failed: { type: 'boolean' },
} as const;

export type WorkloadFilterFlag = keyof typeof WORKLOAD_FILTER_OPTIONS;

/** parseArgs specs of the event-source flags. */
export const EVENT_SOURCE_OPTIONS = {
  agent: { type: 'string' },
  local: { type: 'boolean' },
} as const;

/** The filters as given; absent flags are absent. */
export interface WorkloadFilters {
  comm?: string;
  pid?: number;
  container?: string;
  pod?: string;
  namespace?: string;
  failed: boolean;
}

/** What parseArgs returns for the filter flags. */
export type WorkloadFilterValues = { [K in WorkloadFilterFlag]?: (typeof WORKLOAD_FILTER_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The parseArgs specs of some of the filters (a command that cannot apply a filter does not offer it). */
export function workloadFilterOptions<K extends WorkloadFilterFlag>(flags: readonly K[]): Pick<typeof WORKLOAD_FILTER_OPTIONS, K> {
  return Object.fromEntries(flags.map((f) => [f, WORKLOAD_FILTER_OPTIONS[f]])) as Pick<typeof WORKLOAD_FILTER_OPTIONS, K>;
}

/** Validates the filter flags. May throw `InvalidArgumentError`. */
export function parseWorkloadFilters(values: WorkloadFilterValues): WorkloadFilters {
  const f: WorkloadFilters = { failed: values.failed ?? false };
  if (values.comm !== undefined) {
    if (values.comm === '') throw new InvalidArgumentError('--comm: empty name');
    f.comm = values.comm;
  }
  if (values.pid !== undefined) {
    const n = Number(values.pid);
    if (values.pid === '' || !Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new InvalidArgumentError(`--pid: ${values.pid} is not a process id`);
    f.pid = n;
  }
  for (const k of ['container', 'pod', 'namespace'] as const) {
    const v = values[k];
    if (v === undefined) continue;
    if (v === '') throw new InvalidArgumentError(`--${k}: empty value`);
    f[k] = v;
  }
  return f;
}

const FLAG_WIDTH = 21;

/** One aligned help line, as the commands print their flags. */
export function helpLine(flag: string, text: string): string {
  return `  ${flag.length < FLAG_WIDTH ? flag.padEnd(FLAG_WIDTH) : `${flag} `}${text}`;
}

const FILTER_HELP: Record<WorkloadFilterFlag, [arg: string, text: (noun: string) => string]> = {
  comm: ['NAME', (n) => `only ${n} of processes named NAME`],
  pid: ['PID', (n) => `only ${n} of process PID`],
  container: ['ID', (n) => `only ${n} in containers whose id starts with ID`],
  pod: ['NAME', (n) => `only ${n} in pods with this name (or pod UID)`],
  namespace: ['NS', (n) => `only ${n} in pods of this Kubernetes namespace`],
  failed: ['', (n) => `only failed ${n}`],
};

/**
 * The help lines of the filters, worded for what the command lists
 * (`noun`, e.g. "execs"); `overrides` replaces a line's text where a
 * command filters differently.
 */
export function workloadFilterHelp(noun: string, flags: readonly WorkloadFilterFlag[], overrides: Partial<Record<WorkloadFilterFlag, string>> = {}): string {
  return flags.map((f) => {
    const [arg, text] = FILTER_HELP[f];
    return helpLine(`--${f}${arg ? ` ${arg}` : ''}`, overrides[f] ?? text(noun));
  }).join('\n');
}

/** The help lines of --agent and --local. */
export const EVENT_SOURCE_HELP = [
  helpLine('--agent URL', 'attach to the agent at URL; an error if it does not answer'),
  helpLine('', '(default: $MAXPRO_AGENT_URL, else http://127.0.0.1:9464, and'),
  helpLine('', 'load the probes here when no agent answers within 1 s)'),
  helpLine('--local', 'load the probes in this process even when an agent runs'),
].join('\n');

/** Where a command's events come from. */
export type EventSourceChoice =
  | { local: true }
  /** `explicit`: --agent was given, so an agent that does not answer is an error, not a fallback. */
  | { local: false; url: string; explicit: boolean };

function checkUrl(url: string, from: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`${from}: ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:9464)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`${from}: ${url}: only http and https agents are supported`);
  return url.replace(/\/+$/, '');
}

/** Validates --agent / --local (and MAXPRO_AGENT_URL). May throw `InvalidArgumentError`. */
export function parseEventSource(values: { agent?: string; local?: boolean }, env: Readonly<Record<string, string | undefined>> = process.env): EventSourceChoice {
  if (values.local && values.agent !== undefined) throw new InvalidArgumentError('--agent and --local exclude each other');
  if (values.local) return { local: true };
  if (values.agent !== undefined) return { local: false, url: checkUrl(values.agent, '--agent'), explicit: true };
  return { local: false, url: checkUrl(defaultAgentUrl(env), env.MAXPRO_AGENT_URL ? 'MAXPRO_AGENT_URL' : 'default agent URL'), explicit: false };
}
