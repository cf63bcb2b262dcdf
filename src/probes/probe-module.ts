// SPDX-License-Identifier: Apache-2.0
/**
 * What every probe declares about itself, in one module per probe
 * (src/probes/<name>/<name>-module.ts) listed once in src/probes/registry.ts.
 * The agent, the policy planner, the live stream, `config check`, `policy
 * explain` and the CLI iterate over the registry instead of naming probes.
 *
 * A module is cheap to import (no BPF, no enrichment): its source loads
 * through `createSource`, which imports the probe's loader lazily.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { CapName, EventLayout } from '../ebpf/index.js';
import type { K8sMetadata } from '../enrich/k8s-metadata.js';
import type { RedactionHook } from '../enrich/process-enricher.js';
import type { Redactor } from '../enrich/redaction.js';
import type { MetricFamily } from '../lib/metric-family.js';
import type { StreamFilter } from '../lib/stream-filter-spec.js';
import type { WorkloadIdentity } from '../lib/workload-identity.js';
import type { CgroupFilter } from './cgroup-filter.js';
import type { ProbeEvent } from './probe-event.js';
import type { ProgramRunStat } from './program-run-stats.js';

/** One numeric event field a policy predicate may name. */
export interface PredicateFieldSpec {
  unit: 'duration' | 'count' | 'bytes' | 'code';
  description: string;
  /** Smallest and largest value the field can take. */
  min: number;
  max: number;
}

/** A parsed predicate as a push-down sees it (the value in the field's base unit). */
export interface KernelPredicate {
  readonly source: string;
  readonly field: string;
  readonly op: '>' | '>=' | '<' | '<=' | '==' | '!=';
  readonly value: number;
}

/**
 * How a probe's part of a policy plan becomes its kernel settings `K` (map
 * writes its source makes on `reconfigure`). The planner decides, per probe,
 * whether the kernel must stream every record (a keep default, a keep rule
 * with no kernel condition) or only what some pushed-down predicate lets
 * through; user space re-checks every rule either way.
 */
export interface ProbePushDown<K> {
  /** Settings before any rule: no record passes. */
  none(): K;
  /** Settings that let every record through. */
  everything(): K;
  /** The kernel form of one predicate of a keep rule, or undefined when it needs user space. */
  predicate(p: KernelPredicate): { apply(k: K): void; how: string } | undefined;
  /** Whether settings let every record through. */
  streams(k: K): boolean;
  /** The settings as `policy explain` prints them (one line, e.g. `tcp_policy: …`). */
  describe(k: K): string;
  /** What the kernel still counts when it emits only records that pass a condition, e.g. `aggregates count everything`. */
  readonly filteredNote?: string;
}

/** A policy rule of the embedded default policy. */
export interface DefaultPolicyRule {
  readonly name: string;
  readonly when?: string;
  readonly probes?: readonly string[];
  readonly action: 'keep' | 'drop';
}

/** A CLI command of a probe, as src/cli/command-registry.ts lists it (`load` resolves to a src/cli/command.ts Command). */
export interface ProbeCommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<unknown>;
}

/** What the live stream asks of a probe for subscribers, on top of the policy (`D`: the probe's demand). */
export interface ProbeStreamSupport<D> {
  /** What one subscriber that wants this probe's records needs from the kernel; undefined: nothing more. */
  demandOf(f: StreamFilter): D | undefined;
  /** The union of several subscribers' demands; undefined for none. */
  merge(list: readonly D[]): D | undefined;
  /** Whether an event passes the probe-specific keys (`failed`, `port`, `minLatencyNs`) a filter sets. Absent: it never does. */
  matches?(e: ProbeEvent, f: StreamFilter): boolean;
  /** The parent process of an event, for the `pid` filter's "or of its children". */
  parentPid?(e: ProbeEvent): number | undefined;
}

/** A probe's records as C declares them: checked against the object's BTF and event.h by tests. */
export interface ProbeEventKinds {
  /** Every struct it decodes. */
  layouts: readonly EventLayout[];
  /** Its kind numbers, under a group name and a kind name each (`TCP` + `connectFailed` is `MAXPRO_EV_TCP_CONNECT_FAILED`). */
  group: string;
  kinds: Readonly<Record<string, number>>;
}

/** The common stats shape of every source. */
export interface ProbeStats {
  /** Records decoded and handed to the pipeline since load. */
  events: number;
  /** Events lost so far, by reason (kernel drop reasons, reader, decode, …). */
  lost: Record<string, number>;
  /** BPF run statistics of the probe's own programs. */
  programs: readonly ProgramRunStat[];
}

/** What a source is reconfigured with: its config section and its kernel settings from the policy plan. */
export interface ProbeSettings<C, K> {
  config: C;
  kernel: K;
}

/** The narrow handle a loaded probe gives the agent (never its BPF object). */
export interface ProbeSource<C = unknown, K = unknown, D = unknown> {
  readonly name: string;
  stats(): ProbeStats;
  /**
   * The probe's in-kernel cgroup allow/deny list, when its BPF object has one
   * (maxpro/cgroup_filter.bpf.h). Present: the agent pushes cgroup-only
   * selectors down to it; absent: they run in user space.
   */
  readonly cgroupFilter?: CgroupFilter;
  /** The probe's own metric families (aggregates, counters), for every exporter. */
  metrics(): MetricFamily[];
  /** Drains pending records now. */
  flush(): void;
  /** Applies new settings without reloading (policy maps, thresholds, metric labels). */
  reconfigure(s: ProbeSettings<C, K>): Promise<void> | void;
  /** Widens the kernel side for live-stream subscribers (undefined: none); the export policy is unchanged. */
  setLiveDemand?(d: D | undefined): void;
  /** Detaches and frees; pinned maps stay unless the owner removes them. */
  unload(): Promise<void> | void;
}

/** What the agent hands a probe's source factory. */
export interface ProbeSourceContext<C, K> {
  config: C;
  kernel: K;
  /** Receives each event (decoded and enriched, workload not yet labelled). */
  emit(e: ProbeEvent): void;
  /** Cgroup id -> workload identity and labels (cheap: memoised by the agent). */
  workload(cgroupId: number): WorkloadIdentity & { labels: Readonly<Record<string, string>> };
  /** The agent's redaction; a reload's new rules apply from the next call. */
  redaction: RedactionHook & Pick<Redactor, 'stats'>;
  /** Pod metadata, when a cluster is configured. */
  k8s?: K8sMetadata;
  /** bpffs directory for pins carried across restarts; absent: no pinning. */
  pinDir?: string;
  /** Read at unload: leave pinned maps in place. */
  keepPinned(): boolean;
  log(line: string): void;
}

/** What a route of a probe reads: its loaded source, or why there is none. */
export interface ProbeRouteContext<S> {
  source(): { source: S; lost: number } | { unavailable: string };
  identity(cgroupId: number): WorkloadIdentity;
}

/** An HTTP route a probe adds to the agent (behind the agent's token). */
export interface ProbeRoute<S> {
  readonly path: string;
  create(ctx: ProbeRouteContext<S>): { handle(req: IncomingMessage, res: ServerResponse): void };
}

export interface ProbeModule<
  N extends string = string,
  C extends { enabled: boolean } = { enabled: boolean },
  K = unknown,
  D = unknown,
  S extends ProbeSource<C, K, D> = ProbeSource<C, K, D>,
> {
  /** The probe's name: its config key under `probes`, its `probe` label, its policy and stream name. */
  readonly name: N;
  /** One line for help and listings. */
  readonly summary: string;
  /** How prose names it, e.g. `TCP`; default its name. */
  readonly label?: string;
  /**
   * Its section under `probes` (with `enabled`), defaults written in the
   * schema; it parses to `C`. Built with the caller's zod, so that importing
   * the registry does not load the schema library (`maxpro --help` lists the
   * probes' commands from it).
   */
  readonly config: (zod: typeof z) => z.ZodObject;
  /** Keys read at load only: a reload that changes them is told they apply after a restart. */
  readonly loadTimeKeys?: readonly (keyof C & string)[];
  /** Numeric fields its events carry for policy predicates, by name. */
  readonly predicateFields: Readonly<Record<string, PredicateFieldSpec>>;
  /** The capabilities it uses (src/probes/probe-capabilities.ts says what each is for and what is lost without it). */
  readonly capabilities: readonly CapName[];
  /** Whether this build's BPF object has the cgroup filter map (the planner's default capability). */
  readonly cgroupFilter: boolean;
  /** Its rules of the embedded default policy, and how the schema's description states them. */
  readonly defaultPolicy?: { rules: readonly DefaultPolicyRule[]; description: string };
  readonly pushDown?: ProbePushDown<K>;
  readonly stream?: ProbeStreamSupport<D>;
  readonly routes?: readonly ProbeRoute<S>[];
  /** What `maxpro up`'s summary line leads with for it, when not its records: a counter family of its metrics. */
  readonly upSummary?: { family: string; noun: string };
  /** Its event layouts and kinds (imported lazily: the decoders need the eBPF layer). */
  events?(): Promise<ProbeEventKinds>;
  /** Its CLI commands (`maxpro trace tcp`, …), each module imported only when its command runs. */
  readonly commands?: readonly ProbeCommandEntry[];
  /** Loads the probe. May throw its loader's errors. */
  createSource(ctx: ProbeSourceContext<C, K>): Promise<S>;
}
