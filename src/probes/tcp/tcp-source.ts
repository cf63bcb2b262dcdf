// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP probe as an agent source: connection records (as the pushed-down
 * policy lets through) and the in-kernel aggregates (handshake, RTT and
 * lifetime histograms and counters per cgroup, direction and port class),
 * exported through `createTcpMetrics` with the configured labels and cap.
 */
import { createTcpProbe, TCP_STREAM_ONLY_PROGRAM } from './tcp-probe.js';
import type { TcpPolicy } from './tcp-probe.js';
import type { TcpEvent } from './tcp-event.js';
import { readTcpAggregates } from './tcp-aggregates.js';
import type { TcpAggregate } from './tcp-aggregates.js';
import { bpfObjectPath } from '../../ebpf/index.js';
import type { BpfMap } from '../../ebpf/index.js';
import { createTcpMetrics } from './tcp-metrics.js';
import type { TcpMetrics, TcpWorkload } from './tcp-metrics.js';
import { memoAttributes, NO_WORKLOAD } from '../probe-event.js';
import type { ProbeEvent } from '../probe-event.js';
import type { ProbeSettings, ProbeSource } from '../probe-module.js';
import type { TcpKernelPolicy } from './tcp-push-down.js';
import type { TcpDemand } from './tcp-demand.js';
import type { TcpConfig } from './tcp-module.js';
import { bootNsToWallMs } from '../boot-clock.js';
import { addU64 } from '../pinned-aggregates.js';
import type { PinnedAggregates, PinnedAggregateStats } from '../pinned-aggregates.js';
import { programRunStats } from '../program-run-stats.js';
import { createTcpPins } from './tcp-pins.js';
import type { TcpCountsMeta } from './tcp-pins.js';
import type { MetricFamily } from '../../lib/metric-family.js';

const NAME = 'tcp';

export interface TcpSourceOptions {
  policy: TcpKernelPolicy;
  emit(e: ProbeEvent): void;
  /** Cgroup id -> path and workload, for the aggregate labels (cheap: called per aggregate per scrape). */
  identify(id: number): TcpWorkload;
  /** Labels and series cap of the aggregate metrics. */
  metrics: TcpConfig['metrics'];
  /** bpffs directory: the aggregate map, programs and links are pinned there and carried across restarts (tcp-pins.ts). None: no pinning. */
  pinDir?: string;
  /** Read at unload: leave the pinned map in place (the programs are detached either way). */
  keepPinned?(): boolean;
  /** Warnings (restore problems). */
  log?(line: string): void;
}

/**
 * The probe's policy from the planner's, widened by what live-stream
 * subscribers ask for. Widening only sends more records to user space, where
 * the policy engine still decides exactly what is exported.
 */
export function toTcpPolicy(p: TcpKernelPolicy, live?: TcpDemand): TcpPolicy {
  // 0 is "off" for a threshold: the union of two thresholds is the lower non-zero one.
  const a = p.minHandshakeNs, b = live?.minHandshakeNs ?? 0;
  const minHandshakeNs = a === 0 ? b : b === 0 ? a : Math.min(a, b);
  return {
    minHandshakeMs: minHandshakeNs / 1e6, minSrttMs: p.minSrttNs / 1e6, minLifetimeMs: p.minLifetimeNs / 1e6,
    failedConnects: p.failed || live?.failed === true, retransmits: p.retransmits, stream: p.stream || live?.stream === true,
  };
}

export function tcpToAgentEvent(e: TcpEvent): ProbeEvent {
  const base = {
    probe: NAME, timeMs: bootNsToWallMs(e.bootNs), pid: e.pid, tgid: e.tgid, cgroupId: Number(e.cgroupId), workload: NO_WORKLOAD,
  };
  const net = {
    'network.transport': 'tcp', 'network.type': e.family === 6 ? 'ipv6' : 'ipv4',
    'source.address': e.saddr, 'source.port': e.sport, 'destination.address': e.daddr, 'destination.port': e.dport,
  };
  if ('handshakeNs' in e) {
    const fields: Record<string, number> = {
      'tcp.retransmits': e.totalRetrans, 'tcp.bytes.sent': e.bytesAcked, 'tcp.bytes.received': e.bytesReceived,
      'tcp.connect.failed': e.type === 'connectFailed' ? 1 : 0,
    };
    if (e.handshakeNs > 0) fields['tcp.connect.latency'] = e.handshakeNs;
    if (e.type === 'close') {
      fields['tcp.lifetime'] = e.lifetimeNs;
      if (e.srttUs > 0) fields['tcp.rtt'] = e.srttUs * 1000;
    }
    return {
      ...base, comm: e.comm, name: e.type === 'connectFailed' ? 'tcp.connect_failed' : `tcp.${e.type}`, fields,
      attributes: memoAttributes(() => ({
        ...net, 'tcp.direction': e.dir, 'tcp.error': e.err, 'tcp.segs_out': e.segsOut, 'tcp.segs_in': e.segsIn,
        // Not predicate fields: rttvar is a spread, not a latency; the state is the one the socket left.
        'tcp.old_state': e.oldState, 'tcp.rttvar_us': e.rttvarUs,
      })),
    };
  }
  const names: Record<string, string> = {
    retransmit: 'tcp.retransmit', synackRetransmit: 'tcp.synack_retransmit', resetSent: 'tcp.reset_sent', resetReceived: 'tcp.reset_received', drop: 'tcp.drop',
  };
  return { ...base, comm: '', name: names[e.type] ?? `tcp.${e.type}`, fields: {}, attributes: memoAttributes(() => ({ ...net, 'tcp.state': e.state, 'tcp.reason': e.reason })) };
}

/** The live aggregates plus what a previous run left in user space (see pinned-aggregates.ts). */
export function readWithBaseline(live: BpfMap, pinned: PinnedAggregates | undefined): TcpAggregate[] {
  if (!pinned || pinned.stats().baseline === 0) return readTcpAggregates(live);
  const view: BpfMap = {
    ...live,
    *entries() {
      for (const [k, v] of live.entries()) {
        const b = pinned.baselineOf(k);
        yield [k, b ? addU64(v, b) : v];
      }
    },
  };
  return readTcpAggregates(view);
}

export interface TcpSource extends ProbeSource<TcpConfig, TcpKernelPolicy, TcpDemand> {
  pinned(): PinnedAggregateStats | undefined;
  /** The aggregates now, cumulative (with the pinned baseline, as the metrics count them). */
  aggregates(): TcpAggregate[];
  setLiveDemand(d: TcpDemand | undefined): void;
}

/** Loads the TCP probe. May throw what `createTcpProbe` throws. */
export function createTcpSource(options: TcpSourceOptions): TcpSource {
  let events = 0;
  let policy = options.policy;
  let live: TcpDemand | undefined;
  const pins = createTcpPins({ ...(options.pinDir ? { pinDir: options.pinDir } : {}), objectPath: bpfObjectPath(NAME), ...(options.log ? { log: options.log } : {}) });
  const probe = createTcpProbe({
    policy: toTcpPolicy(policy),
    onEvent: (e) => {
      events++;
      options.emit(tcpToAgentEvent(e));
    },
    beforeAttach: (obj) => pins.beforeAttach(obj),
  });
  // The stream-only program's link comes and goes with the policy: it is not one that must outlive the agent.
  pins.afterAttach(probe.object, probe.object.links.filter((l) => l.program !== TCP_STREAM_ONLY_PROGRAM));
  const pinned = pins.aggregates();
  // The pinned baseline keeps counters monotonic across agent restarts.
  const aggregates = (): TcpAggregate[] => readWithBaseline(probe.object.map('tcp_aggs'), pinned);
  const metricsFor = (m: TcpConfig['metrics']): TcpMetrics => createTcpMetrics({
    probe, labels: m.labels, podLabels: m.podLabels, maxSeries: m.maxSeries, identify: (id) => options.identify(Number(id)), aggregates,
  });
  let metricsConfig = options.metrics;
  let metrics = metricsFor(metricsConfig);
  let lastPrograms: ReturnType<typeof programRunStats> = [];
  return {
    name: NAME,
    cgroupFilter: probe.cgroupFilter,
    pinned: () => pinned?.stats(),
    aggregates,
    stats() {
      const s = probe.stats();
      const lost: Record<string, number> = {};
      for (const [k, v] of Object.entries(s.kernelDrops)) lost[k] = Number(v);
      lost.reader = s.readerDrops;
      lost.decode = s.undecodable;
      lost.handler = s.handlerErrors;
      // The programs' fds are gone after unload: the last reading stands.
      try {
        lastPrograms = programRunStats(probe.object);
      } catch { /* closed */ }
      return { events, lost, programs: lastPrograms };
    },
    metrics: () => [...metrics.collect(), ...countsMetaFamilies(pins.meta())],
    flush: () => probe.flush(),
    reconfigure(s: ProbeSettings<TcpConfig, TcpKernelPolicy>) {
      policy = s.kernel;
      probe.setPolicy(toTcpPolicy(policy, live));
      // New labels or cap: a fresh limiter (series are re-admitted at the next scrape).
      if (JSON.stringify(s.config.metrics) !== JSON.stringify(metricsConfig)) {
        metricsConfig = s.config.metrics;
        metrics = metricsFor(metricsConfig);
      }
    },
    setLiveDemand(d) {
      const was = toTcpPolicy(policy, live);
      live = d;
      const now = toTcpPolicy(policy, live);
      probe.setPolicy(now);
      if (was.stream !== now.stream) options.log?.(`tcp: kernel stream ${now.stream ? 'on for live-stream subscribers' : 'off: back to the policy\'s settings'}`);
    },
    async unload() {
      pins.release(probe.object, options.keepPinned?.() ?? false);
      await probe.close();
    },
  };
}

/** Where the TCP counts start and where they have gaps, so a reader can tell a reset or a gap from a quiet spell. */
export function countsMetaFamilies(m: TcpCountsMeta): MetricFamily[] {
  return [
    { name: 'maxpro_tcp_counts_start_time_seconds', type: 'gauge', unit: 'seconds', help: 'Unix time the TCP counters started from zero (carried across agent restarts while the pins are kept).', samples: [{ labels: {}, value: m.startTimeMs / 1000 }] },
    { name: 'maxpro_tcp_count_gaps', type: 'counter', help: 'Intervals in which no TCP program counted although the counters went on (agent restarts, reloads that turned the probe off).', samples: [{ labels: {}, value: m.gaps }] },
    { name: 'maxpro_tcp_count_gap_seconds', type: 'counter', unit: 'seconds', help: 'Known length of those intervals.', samples: [{ labels: {}, value: m.gapSeconds }] },
  ];
}
