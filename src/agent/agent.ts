// SPDX-License-Identifier: Apache-2.0
/**
 * The node agent: runs the enabled probes through one pipeline (decode ->
 * enrich -> policy -> export), serves /metrics, health, pprof and the live
 * stream, pushes OTLP and remote-write, reloads its configuration in place,
 * and drains every queue on shutdown within a deadline.
 */
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { createRedactor, createRedactorHandle } from '../enrich/redaction.js';
import { createK8sMetadata } from '../enrich/k8s-metadata.js';
import type { K8sMetadata } from '../enrich/k8s-metadata.js';
import { ClosedError } from '../lib/errors.js';
import type { RedactorHandle } from '../enrich/redaction.js';
import { effectiveCaps, enableBpfStats, ensurePinDir, objectTrustPolicy } from '../ebpf/index.js';
import type { BpfStatsHandle } from '../ebpf/index.js';
import type { MetricFamily } from '../lib/metric-family.js';
// The OTLP (OpenTelemetry SDK) and remote-write (protobufjs) exporters are
// imported only when enabled: together they are ~35 MiB of RSS.
import type { OtlpExporter } from '../exporters/otlp/otlp-exporter.js';
import type { RemoteWriteExporter } from '../exporters/remote-write/remote-write-exporter.js';
import { EXPORT_DROP_REASONS } from '../exporters/export-queue.js';
import type { AgentConfig } from './config/agent-config.js';
import type { AgentAttributeValue, AgentEvent, AgentProbeName } from './agent-event.js';
import { createPolicyEngine } from './policy/policy-engine.js';
import type { PolicyEngine } from './policy/policy-engine.js';
import { planPushDown } from './policy/policy-planner.js';
import type { PushDownPlan } from './policy/policy-planner.js';
import { createCgroupFilterSync } from './policy/cgroup-filter-sync.js';
import type { CgroupFilterTarget } from './policy/cgroup-filter-sync.js';
import { createProbeManager } from './probe-manager.js';
import type { ProbeManager } from './probe-manager.js';
import { createSelfMetrics } from './self-metrics.js';
import { attestationMetrics, attestationReport } from './bpf-attestation.js';
import type { SelfMetrics } from './self-metrics.js';
import { createAgentHttpServer } from './http/agent-http-server.js';
import { ensureTokenFile } from '../lib/http/token-file.js';
import { defaultTokenFile } from '../lib/http/local-endpoints.js';
import type { AgentHttpServer } from './http/agent-http-server.js';
import { createLiveStream } from './http/live-stream.js';
import type { LiveStream } from './http/live-stream.js';
import { createWorkloadLabeler } from './workload-labeler.js';
import type { WorkloadLabeler } from './workload-labeler.js';
import { PROBE_NAMES, probeModule, probeModules } from '../probes/registry.js';
import type { ProbeModule, ProbeSettings, ProbeSource } from '../probes/probe-module.js';

export interface AgentOptions {
  config: AgentConfig;
  /** Where log lines go (one line each, no trailing newline). */
  log?(line: string): void;
  /** Runs the probes; false serves exporters and endpoints only (tests, `up` without BPF). Default true. */
  probes?: boolean;
}

export interface AgentStats {
  events: Record<AgentProbeName, { received: number; kept: number; dropped: Record<string, number> }>;
  reloads: { ok: number; failed: number };
}

export interface Agent {
  /** The HTTP endpoint base URL. */
  readonly url: string;
  /** The config in force. */
  config(): AgentConfig;
  plan(): PushDownPlan;
  /**
   * Applies a new, already validated config: policies and probe settings
   * change in place (no reload of loaded probes, counters keep counting);
   * probes are loaded or unloaded as enabled; exporters are replaced.
   */
  reload(next: AgentConfig): Promise<void>;
  /** Counts a reload refused before it reached the agent (the new file did not validate). */
  reloadRefused(): void;
  stats(): AgentStats;
  /** Every metric family, as /metrics serves them. */
  collect(): MetricFamily[];
  /** Loaded probes. */
  probes(): string[];
  /** Drains and stops. Idempotent. Resolves to the drops counted at shutdown. */
  shutdown(): Promise<void>;
}

const PROBES: readonly AgentProbeName[] = PROBE_NAMES;

function logsUrl(c: AgentConfig['exporters']['otlp']): string {
  return c.logsEndpoint ?? `${c.endpoint.replace(/\/+$/, '')}/v1/logs`;
}
function metricsUrl(c: AgentConfig['exporters']['otlp']): string {
  return c.metricsEndpoint ?? `${c.endpoint.replace(/\/+$/, '')}/v1/metrics`;
}

/** Starts the agent. May throw ConfigError, InvalidArgumentError, probe load errors, or a listen error. */
export async function createAgent(options: AgentOptions): Promise<Agent> {
  let cfg = options.config;
  const log = options.log ?? (() => undefined);
  const runProbes = options.probes !== false;
  // BPF objects load only when verified (docs/supply-chain.md): a bad setting fails the start, and opting out is said.
  const trust = objectTrustPolicy();
  if (!trust.verify) log('agent: BPF object verification is OFF (MAXPRO_BPF_VERIFY=off): unsigned objects load; maxpro_bpf_object_verification_enabled is 0');
  const self: SelfMetrics = createSelfMetrics();
  const manager: ProbeManager = createProbeManager();
  // Pod metadata, when a cluster is configured: watched in the background, so labels and selectors
  // see a pod from the moment its metadata arrives (the kernel cgroup lists are rewritten then too).
  let podsChanged = (): void => {};
  const k8s: K8sMetadata | undefined = cfg.kubernetes.enabled
    ? createK8sMetadata({
      ...(cfg.kubernetes.kubeconfig ? { kubeconfig: cfg.kubernetes.kubeconfig } : {}),
      ...(cfg.agent.nodeName ? { nodeName: cfg.agent.nodeName } : {}),
      maxPods: cfg.kubernetes.maxPods, onNotice: log, onChange: () => podsChanged(),
    })
    : undefined;
  const labeler: WorkloadLabeler = createWorkloadLabeler({ workloads: cfg.workloads, ...(k8s ? { pods: (uid: string) => k8s.lookup(uid) } : {}) });
  // One handle for every user of the rules (stream, OTLP, the process source): a reload replaces the rules under it.
  const redactor: RedactorHandle = createRedactorHandle(createRedactor({ extraPatterns: cfg.redaction.extraPatterns }));
  let engine: PolicyEngine = createPolicyEngine(cfg.policy);
  let plan: PushDownPlan = planPushDown(cfg.policy);
  // Cgroup-only selectors go into the kernel lists of the probes that have one (sources' cgroupFilter).
  const cgroupSync = createCgroupFilterSync({ subject: (p) => labeler.pathSubject(p), run: (label, fn) => manager.run(label, fn), log });
  const counts = Object.fromEntries(PROBES.map((p) => [p, { received: 0, kept: 0, dropped: {} }])) as AgentStats['events'];
  const reloads = { ok: 0, failed: 0 };
  // Policy decisions of engines a reload replaced: counters never go down, so
  // each rule's series continues across reloads (and stays after the rule
  // goes away, as a counter of a vanished label set would in Prometheus).
  type Decisions = ReturnType<PolicyEngine['stats']>['rules'];
  const retired: Decisions = {};
  const MAX_RETIRED_RULES = 1024;
  const retireDecisions = (old: PolicyEngine): void => {
    for (const [rule, r] of Object.entries(old.stats().rules)) {
      const t = retired[rule] ?? (Object.keys(retired).length < MAX_RETIRED_RULES ? (retired[rule] = { kept: 0, dropped: 0, rateLimited: 0 }) : retired['(retired)'] ??= { kept: 0, dropped: 0, rateLimited: 0 });
      t.kept += r.kept;
      t.dropped += r.dropped;
      t.rateLimited += r.rateLimited;
    }
  };
  const decisionTotals = (): Decisions => {
    const out: Decisions = structuredClone(retired);
    for (const [rule, r] of Object.entries(engine.stats().rules)) {
      const t = out[rule] ??= { kept: 0, dropped: 0, rateLimited: 0 };
      t.kept += r.kept;
      t.dropped += r.dropped;
      t.rateLimited += r.rateLimited;
    }
    return out;
  };
  const sources = new Map<AgentProbeName, ProbeSource>();
  const loadErrors = new Map<AgentProbeName, string>();
  let otlp: OtlpExporter | undefined;
  let rw: RemoteWriteExporter | undefined;
  let timers: NodeJS.Timeout[] = [];
  let bpfStats: BpfStatsHandle | undefined;
  let ready = false;
  const rates = new Map<AgentProbeName, { last: number; at: number; perSecond: number }>();

  const lostByProbe = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [name, s] of sources) out[name] = Object.values(s.stats().lost).reduce((a, b) => a + b, 0);
    return out;
  };

  // Live-stream subscribers widen the kernel side while they are attached: records the policy
  // does not ask for (each probe's stream demand), and no cgroup filter on a probe they watch (it only filters what the policy
  // drops, which they see too). Applied through the serial manager so it never races a reload or
  // an unload; bursts of attach/detach collapse into one update. Resolves once both are applied:
  // a new subscriber's response waits for it.
  let demandRun: Promise<void> | undefined;
  const applyLiveDemand = (): Promise<void> => {
    if (demandRun) return demandRun;
    const p: Promise<void> = manager.run('live-stream demand', () => {
      if (demandRun === p) demandRun = undefined;
      for (const [name, s] of sources) s.setLiveDemand?.(stream.demand(name));
    }).then(() => cgroupSync.setLiveDemand(stream.wantedProbes())).catch((err: unknown) => {
      if (demandRun === p) demandRun = undefined;
      if (!(err instanceof ClosedError)) log(`live stream: ${err instanceof Error ? err.message : String(err)}`);
    });
    demandRun = p;
    return p;
  };
  const stream: LiveStream = createLiveStream({
    maxClients: cfg.http.stream.maxClients, maxClientsPerAddress: cfg.http.stream.maxClientsPerAddress, clientBufferBytes: cfg.http.stream.clientBufferBytes,
    probeLoaded: (p) => sources.has(p), onDemandChange: applyLiveDemand, probeLost: lostByProbe,
    redact: (s) => redactor.redact(s),
  });

  const emit = (e: AgentEvent): void => {
    const c = counts[e.probe];
    c.received++;
    cgroupSync.seen(e.cgroupId);
    e.workload = labeler.subject(e.cgroupId, e.comm, e.exe);
    const d = engine.decide(e);
    // Subscribers see every event (the policy decides what is exported, not what an SRE may watch).
    stream.publish(e, d.keep);
    if (!d.keep) {
      const r = d.reason ?? 'policy_drop';
      c.dropped[r] = (c.dropped[r] ?? 0) + 1;
      return;
    }
    c.kept++;
    otlp?.addEvent({ name: e.name, timeMs: e.timeMs, attributes: exportAttributes(e) });
  };
  // A probe with a schema record exports it as it is (the names `trace exec --json` prints), plus the
  // agent's own: probe, thread, workload labels. Others: their attributes, the workload and their fields.
  const exportAttributes = (e: AgentEvent): Record<string, AgentAttributeValue> => {
    const labels = Object.fromEntries(Object.entries(e.workload.labels).map(([k, v]) => [`maxpro.label.${k}`, v]));
    if (e.record) return { 'maxpro.probe': e.probe, 'thread.id': e.pid, 'process.command': redactor.redact(e.comm), ...labels, ...e.attributes() };
    return {
      ...e.attributes(), 'maxpro.probe': e.probe, 'process.pid': e.tgid, 'thread.id': e.pid, 'process.command': redactor.redact(e.comm),
      'maxpro.cgroup.id': e.cgroupId,
      ...labels,
      ...(e.workload.attributes.cgroup ? { 'maxpro.cgroup.path': e.workload.attributes.cgroup } : {}),
      ...(e.workload.attributes.container ? { 'container.id': e.workload.attributes.container } : {}),
      ...(e.workload.attributes.pod ? { 'k8s.pod.uid': e.workload.attributes.pod } : {}),
      ...(e.workload.podName ? { 'k8s.pod.name': e.workload.podName, 'k8s.namespace.name': e.workload.attributes.namespace ?? '' } : {}),
      ...Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, v!])),
    };
  };

  const moduleOf = (name: AgentProbeName): ProbeModule => probeModule(name)!;
  type Settings = ProbeSettings<{ enabled: boolean }, unknown>;
  const settings = (name: AgentProbeName, c: AgentConfig = cfg): Settings => ({
    config: c.probes[name], kernel: (plan as unknown as Record<string, unknown>)[name],
  });

  const loadProbe = async (name: AgentProbeName): Promise<void> => {
    try {
      await manager.load<Settings>(name, async (s) => {
        const src = await moduleOf(name).createSource({
          config: s.config, kernel: s.kernel, emit: emit as (e: unknown) => void,
          workload: (id) => ({ ...labeler.identity(id), labels: labeler.labels(id) }),
          // The handle: a reload's new rules apply from the next event.
          redaction: redactor, ...(k8s ? { k8s } : {}),
          ...(pinDirReady ? { pinDir: cfg.agent.pinDir } : {}), keepPinned: () => cfg.agent.keepPinned, log,
        });
        const d = stream.demand(name);
        if (d !== undefined) src.setLiveDemand?.(d);
        sources.set(name, src);
        return src;
      }, settings(name));
      loadErrors.delete(name);
      log(`probe ${name}: loaded`);
    } catch (err) {
      loadErrors.set(name, err instanceof Error ? err.message : String(err));
      log(`probe ${name}: not loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const filterTargets = (): CgroupFilterTarget[] => [...sources].flatMap(([probe, s]) => (s.cgroupFilter ? [{ probe, filter: s.cgroupFilter }] : []));
  const syncCgroupFilters = (): Promise<void> => cgroupSync.update(engine.spec, engine.rules, filterTargets());

  const unloadProbe = async (name: AgentProbeName): Promise<void> => {
    await manager.unload(name);
    sources.delete(name);
    log(`probe ${name}: unloaded`);
  };

  // Set once the HTTP server listens; its refusals join the scrape.
  const httpRef: { server?: AgentHttpServer } = {};
  const collect = (): MetricFamily[] => {
    const fams: MetricFamily[] = [...self.collect()];
    const now = performance.now();
    const probeEvents: MetricFamily = { name: 'maxpro_probe_events', type: 'counter', help: 'Records decoded per probe.', samples: [] };
    const probeRate: MetricFamily = { name: 'maxpro_probe_events_per_second', type: 'gauge', help: 'Records decoded per second per probe, over the last scrape interval (at least 1 s).', samples: [] };
    const lost: MetricFamily = { name: 'maxpro_probe_lost_events', type: 'counter', help: 'Events lost per probe, by where and why they were lost.', samples: [] };
    const runTime: MetricFamily = { name: 'maxpro_probe_bpf_run_seconds', type: 'counter', help: 'Time the probe\'s BPF programs ran (BPF stats).', unit: 'seconds', samples: [] };
    const runs: MetricFamily = { name: 'maxpro_probe_bpf_runs', type: 'counter', help: 'Runs of the probe\'s BPF programs (BPF stats).', samples: [] };
    const loaded: MetricFamily = { name: 'maxpro_probe_loaded', type: 'gauge', help: '1 when the probe is loaded.', samples: [] };
    for (const name of PROBES) {
      const s = sources.get(name);
      loaded.samples.push({ labels: { probe: name }, value: s ? 1 : 0 });
      if (!s) continue;
      const st = s.stats();
      const n = st.events;
      probeEvents.samples.push({ labels: { probe: name }, value: n });
      const r = rates.get(name) ?? { last: n, at: now, perSecond: 0 };
      if (now - r.at >= 1000) {
        r.perSecond = ((n - r.last) * 1000) / (now - r.at);
        r.last = n;
        r.at = now;
      }
      rates.set(name, r);
      probeRate.samples.push({ labels: { probe: name }, value: r.perSecond });
      for (const [reason, v] of Object.entries(st.lost)) lost.samples.push({ labels: { probe: name, reason }, value: v });
      // The probe's own programs (BPF stats), summed.
      let runTimeNs = 0, runCount = 0;
      for (const p of st.programs) {
        runTimeNs += p.runTimeNs;
        runCount += p.runCount;
      }
      runTime.samples.push({ labels: { probe: name }, value: runTimeNs / 1e9 });
      runs.samples.push({ labels: { probe: name }, value: runCount });
      fams.push(...s.metrics());
    }
    fams.push(loaded, probeEvents, probeRate, lost, runTime, runs, ...attestationMetrics());
    const pipe: MetricFamily = { name: 'maxpro_agent_events', type: 'counter', help: 'Events through the policy stage, by probe and outcome.', samples: [] };
    for (const name of PROBES) {
      const c = counts[name];
      pipe.samples.push({ labels: { probe: name, outcome: 'kept', reason: '' }, value: c.kept });
      for (const [reason, v] of Object.entries(c.dropped)) pipe.samples.push({ labels: { probe: name, outcome: 'dropped', reason }, value: v });
    }
    fams.push(pipe, ...cgroupSync.metrics());
    const rules = decisionTotals();
    fams.push({ name: 'maxpro_policy_decisions', type: 'counter', help: 'Policy decisions by rule and result.', samples: Object.entries(rules).flatMap(([rule, r]) => [
      { labels: { rule, result: 'kept' }, value: r.kept }, { labels: { rule, result: 'dropped' }, value: r.dropped }, { labels: { rule, result: 'rate_limited' }, value: r.rateLimited },
    ]) });
    const qDepth: MetricFamily = { name: 'maxpro_export_queue_depth', type: 'gauge', help: 'Items waiting in each export queue.', samples: [] };
    const qCap: MetricFamily = { name: 'maxpro_export_queue_capacity', type: 'gauge', help: 'Capacity of each export queue.', samples: [] };
    const exported: MetricFamily = { name: 'maxpro_export_items', type: 'counter', help: 'Items acknowledged by the receiver, per exporter.', samples: [] };
    const dropped: MetricFamily = { name: 'maxpro_export_dropped_items', type: 'counter', help: 'Items dropped by an exporter, by reason.', samples: [] };
    const retries: MetricFamily = { name: 'maxpro_export_retries', type: 'counter', help: 'Retryable answers (429/5xx) that led to a retry, per exporter.', samples: [] };
    const addQueue = (exporter: string, q: { depth: number; capacity: number; exported: number; dropped: Record<string, number> }): void => {
      qDepth.samples.push({ labels: { exporter }, value: q.depth });
      qCap.samples.push({ labels: { exporter }, value: q.capacity });
      exported.samples.push({ labels: { exporter }, value: q.exported });
      for (const r of EXPORT_DROP_REASONS) dropped.samples.push({ labels: { exporter, reason: r }, value: q.dropped[r] ?? 0 });
    };
    if (otlp) {
      const s = otlp.stats();
      addQueue('otlp_logs', s.logs);
      addQueue('otlp_metrics', s.metrics);
      retries.samples.push({ labels: { exporter: 'otlp' }, value: s.retryableResponses });
    }
    if (rw) {
      const s = rw.stats();
      addQueue('remote_write', s.series);
      retries.samples.push({ labels: { exporter: 'remote_write' }, value: s.retries });
    }
    const st = stream.stats();
    for (const [r, v] of Object.entries(st.dropped)) dropped.samples.push({ labels: { exporter: 'live_stream', reason: r }, value: v });
    exported.samples.push({ labels: { exporter: 'live_stream' }, value: st.sent });
    fams.push(qDepth, qCap, exported, dropped, retries);
    const rs = redactor.stats();
    fams.push({ name: 'maxpro_redacted_values', type: 'counter', help: 'Values in which redaction masked something.', samples: [{ labels: {}, value: rs.redacted }] });
    fams.push({ name: 'maxpro_redaction_masked_whole', type: 'counter', help: 'Values masked whole instead of scanned, by reason (over the size or the match budget).', samples: [
      { labels: { reason: 'oversize' }, value: rs.oversize }, { labels: { reason: 'match_budget' }, value: rs.overmatched },
    ] });
    const hs = httpRef.server;
    if (hs) {
      fams.push({ name: 'maxpro_agent_http_refusals', type: 'counter', help: 'Requests and connections the agent\'s HTTP server refused or closed, by reason.',
        samples: Object.entries(hs.refusals()).map(([reason, value]) => ({ labels: { reason }, value })) });
      fams.push({ name: 'maxpro_agent_http_connections', type: 'gauge', help: 'Open connections to the agent\'s HTTP server.', samples: [{ labels: {}, value: hs.connections() }] });
    }
    fams.push({ name: 'maxpro_agent_reloads', type: 'counter', help: 'Configuration reloads, by result.', samples: [
      { labels: { result: 'ok' }, value: reloads.ok }, { labels: { result: 'rejected' }, value: reloads.failed },
    ] });
    if (k8s) {
      const ks = k8s.stats();
      fams.push(
        { name: 'maxpro_kubernetes_pods', type: 'gauge', help: 'Pods of this node whose metadata the agent holds.', samples: [{ labels: { state: ks.state }, value: ks.pods }] },
        { name: 'maxpro_kubernetes_pods_overflow', type: 'counter', help: 'Pod updates not kept because kubernetes.maxPods was reached (those pods get no labels).', samples: [{ labels: {}, value: ks.overflow }] },
        { name: 'maxpro_kubernetes_watch_errors', type: 'counter', help: 'Failures of the pod list/watch (it retries).', samples: [{ labels: {}, value: ks.errors }] },
      );
    }
    fams.push({ name: 'maxpro_live_stream_clients', type: 'gauge', help: 'Clients attached to /stream.', samples: [{ labels: {}, value: st.clients }] });
    return fams;
  };

  const startExporters = async (c: AgentConfig): Promise<void> => {
    const ex = c.exporters;
    if (ex.otlp.enabled) {
      const { createOtlpExporter } = await import('../exporters/otlp/otlp-exporter.js');
      otlp = createOtlpExporter({
        logsUrl: logsUrl(ex.otlp), metricsUrl: metricsUrl(ex.otlp), protocol: ex.otlp.protocol, headers: ex.otlp.headers,
        timeoutMs: ex.otlp.timeoutMs, queueSize: ex.otlp.queueSize, batchSize: ex.otlp.batchSize, flushIntervalMs: ex.otlp.flushIntervalMs,
        ...(c.agent.nodeName ? { resource: { 'k8s.node.name': c.agent.nodeName } } : {}),
        lostEvents: lostByProbe,
        onError: (err) => log(`otlp export: ${err instanceof Error ? err.message : String(err)}`),
      });
      const o = otlp;
      const t = setInterval(() => o.addMetrics(collect()), ex.otlp.metricsIntervalMs);
      t.unref();
      timers.push(t);
    }
    if (ex.remoteWrite.enabled) {
      const { createRemoteWriteExporter } = await import('../exporters/remote-write/remote-write-exporter.js');
      rw = createRemoteWriteExporter({
        url: ex.remoteWrite.url, headers: ex.remoteWrite.headers, timeoutMs: ex.remoteWrite.timeoutMs, queueSize: ex.remoteWrite.queueSize,
        batchSize: ex.remoteWrite.batchSize, flushIntervalMs: ex.remoteWrite.flushIntervalMs,
        externalLabels: { job: 'maxpro-agent', ...(c.agent.nodeName ? { instance: c.agent.nodeName } : {}) },
        onError: (err) => log(`remote write: ${err instanceof Error ? err.message : String(err)}`),
      });
      const r = rw;
      const t = setInterval(() => r.addSnapshot(collect()), ex.remoteWrite.intervalMs);
      t.unref();
      timers.push(t);
    }
  };

  const stopExporters = async (deadlineMs: number): Promise<void> => {
    for (const t of timers) clearInterval(t);
    timers = [];
    // Last snapshot so the final counts reach the backends.
    const fams = otlp || rw ? collect() : [];
    otlp?.addMetrics(fams);
    rw?.addSnapshot(fams);
    await Promise.all([otlp?.shutdown(deadlineMs), rw?.shutdown(deadlineMs)]);
    otlp = undefined;
    rw = undefined;
  };

  // Start: pins, BPF stats, probes, exporters, HTTP.
  let pinDirReady = false;
  // The agent removes only what it owns: its own pins (the sources unpin them), and the directory
  // itself only when it created it and nothing else is left in it.
  const pinDirCreated = runProbes && !existsSync(cfg.agent.pinDir);
  if (runProbes) {
    try {
      ensurePinDir(cfg.agent.pinDir);
      pinDirReady = true;
    } catch (err) {
      log(`pin directory ${cfg.agent.pinDir}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      bpfStats = enableBpfStats();
    } catch (err) {
      log(`BPF run-time stats unavailable: ${err instanceof Error ? err.message : String(err)}${effectiveCaps().has('CAP_SYS_ADMIN') ? '' : ' (BPF_ENABLE_STATS needs CAP_SYS_ADMIN): maxpro_probe_bpf_run_seconds stays at 0'}`);
    }
    for (const p of PROBES) if (cfg.probes[p].enabled) await loadProbe(p);
    await syncCgroupFilters();
  }
  let podSync: NodeJS.Timeout | undefined;
  if (k8s) {
    // Pod updates come in bursts (the initial list, resyncs): one rewrite of the cgroup lists per second at most.
    if (runProbes) {
      podsChanged = () => {
        podSync ??= setTimeout(() => {
          podSync = undefined;
          syncCgroupFilters().catch((err: unknown) => {
            if (!(err instanceof ClosedError)) log(`cgroup filter after a pod change: ${err instanceof Error ? err.message : String(err)}`);
          });
        }, 1000).unref();
      };
    }
    k8s.start().catch((err: unknown) => log(`kubernetes: ${err instanceof Error ? err.message : String(err)}: pod metadata skipped`));
  }
  await startExporters(cfg);
  let http: AgentHttpServer;
  try {
    const tokenFile = cfg.http.auth.tokenFile ?? defaultTokenFile('agent');
    http = await createAgentHttpServer({
      listen: cfg.http.listen,
      collect,
      attestation: attestationReport,
      pprof: cfg.http.pprof,
      auth: cfg.http.auth.enabled
        ? { tokens: [ensureTokenFile(tokenFile)], hint: tokenFile, ...(cfg.http.auth.open ? { open: cfg.http.auth.open } : {}) }
        : { disabled: true },
      limits: { maxConnections: cfg.http.maxConnections, maxPerClient: cfg.http.maxConnectionsPerClient },
      stream,
      routes: Object.fromEntries(probeModules().flatMap((m) => (m.routes ?? []).map((r) => [r.path, r.create({
        source: () => {
          const name = m.name as AgentProbeName;
          const src = sources.get(name);
          if (src) return { source: src, lost: lostByProbe()[name] ?? 0 };
          const why = loadErrors.get(name);
          return { unavailable: why ? `the ${name} probe failed to load: ${why}` : !runProbes ? 'the agent runs without probes'
            : `the ${name} probe is not loaded (probes.${name}.enabled is false)` };
        },
        identity: (id) => labeler.identity(id),
      })]))),
      notReady: () => {
        if (!ready) return 'starting';
        const failed = [...loadErrors].map(([p, e]) => `${p}: ${e}`);
        return failed.length ? `probes not loaded: ${failed.join('; ')}` : undefined;
      },
      onError: (err) => log(`http: ${String(err)}`),
    });
  } catch (err) {
    clearTimeout(podSync);
    await k8s?.close().catch(() => undefined);
    await stopExporters(1000);
    await manager.close();
    bpfStats?.close();
    self.close();
    throw err;
  }
  httpRef.server = http;
  ready = true;

  let shut: Promise<void> | undefined;
  return {
    url: http.url,
    config: () => cfg,
    plan: () => planPushDown(engine.spec, { cgroupFilter: Object.fromEntries(filterTargets().map((t) => [t.probe, true])) }, cgroupSync.resolutions()),
    probes: () => manager.loaded(),
    collect,
    async reload(next) {
      try {
        const nextEngine = createPolicyEngine(next.policy);
        const nextPlan = planPushDown(next.policy);
        const nextRedactor = createRedactor({ extraPatterns: next.redaction.extraPatterns });
        // Policy first, then the kernel side, both through the serial manager.
        await manager.run('reload', async () => {
          // The kernel cgroup lists were made for the old rules: open them before the new rules take
          // over, so that nothing the new rules keep is filtered meanwhile. syncCgroupFilters() below
          // writes the new lists; a write that fails here leaves it to that too.
          for (const t of filterTargets()) {
            try {
              t.filter.set({ mode: 'off', ids: [] });
            } catch { /* unloaded meanwhile, or the map write failed: the sync below rewrites it */ }
          }
          retireDecisions(engine);
          engine = nextEngine;
          plan = nextPlan;
          labeler.setWorkloads(next.workloads);
          redactor.replace(nextRedactor);
        });
        for (const name of manager.loaded()) await manager.reconfigure(name, settings(name as AgentProbeName, next));
        if (runProbes) {
          for (const p of PROBES) {
            const loadedNow = sources.has(p);
            const loadTime = moduleOf(p).loadTimeKeys ?? [];
            const was = cfg.probes[p] as Record<string, unknown>, now = next.probes[p] as Record<string, unknown>;
            const settingsChanged = loadedNow && loadTime.some((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
            if (next.probes[p].enabled && !loadedNow) {
              cfg = { ...cfg, probes: next.probes };
              await loadProbe(p);
            } else if (!next.probes[p].enabled && loadedNow) await unloadProbe(p);
            else if (settingsChanged) {
              log(`probe ${p}: ${loadTime.join('/')} are load-time constants; they apply after a restart`);
            }
          }
        }
        if (runProbes) await syncCgroupFilters();
        if (JSON.stringify(next.exporters) !== JSON.stringify(cfg.exporters) || next.agent.nodeName !== cfg.agent.nodeName) {
          await stopExporters(cfg.agent.drainTimeoutMs);
          await startExporters(next);
        }
        if (next.http.listen !== cfg.http.listen) log(`http.listen changed to ${next.http.listen}: applies after a restart`);
        if (JSON.stringify(next.kubernetes) !== JSON.stringify(cfg.kubernetes)) log('kubernetes settings changed: they apply after a restart');
        cfg = next;
        reloads.ok++;
        log('configuration reloaded');
      } catch (err) {
        reloads.failed++;
        throw err;
      }
    },
    reloadRefused() {
      reloads.failed++;
    },
    stats: () => ({ events: structuredClone(counts), reloads: { ...reloads } }),
    shutdown() {
      shut ??= (async () => {
        const deadline = cfg.agent.drainTimeoutMs;
        ready = false;
        podsChanged = () => {};
        clearTimeout(podSync);
        await k8s?.close().catch((err: unknown) => log(`kubernetes: ${String(err)}`));
        cgroupSync.close();
        // Detach and drain the probes into the pipeline, then the exporters.
        try {
          await manager.close();
        } catch (err) {
          log(`unloading probes: ${String(err)}`);
        }
        sources.clear();
        await stopExporters(deadline);
        await http.close();
        bpfStats?.close();
        self.close();
        if (runProbes && !cfg.agent.keepPinned && pinDirCreated && existsSync(cfg.agent.pinDir)) {
          try {
            if (readdirSync(cfg.agent.pinDir).length === 0) rmdirSync(cfg.agent.pinDir);
          } catch (err) {
            log(`removing ${cfg.agent.pinDir}: ${String(err)}`);
          }
        }
      })();
      return shut;
    },
  };
}
