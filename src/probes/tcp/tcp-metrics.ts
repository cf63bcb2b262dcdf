// SPDX-License-Identifier: Apache-2.0
/**
 * TCP probe aggregates as metric families (the snapshot model of
 * `exporters/openmetrics`): handshake, RTT and lifetime histograms and
 * connection counters per direction, with bounded labels (cgroup path,
 * container, pod, namespace, port class: each can be turned off), plus
 * machine-wide drop and reset counts by reason and the probe's global
 * counters. Series past the cap go to one overflow series per direction, and
 * the overflow is counted. The agent (probes/tcp/tcp-source.ts) and the
 * bench use this one mapping.
 */
import { createCardinalityLimiter, OVERFLOW_LABEL } from '../../lib/cardinality-limiter.js';
import type { CardinalityLimiter } from '../../lib/cardinality-limiter.js';
import { createLogLinearHistogram, mergeInto, toPrometheusBuckets } from '../../lib/histogram/index.js';
import type { LogLinearHistogram } from '../../lib/histogram/index.js';
import type { HistogramSample, Labels, MetricFamily, MetricsSource, ScalarSample } from '../../lib/metric-family.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import type { WorkloadIdentity } from '../../lib/workload-identity.js';
import { tcpProbeLost } from './tcp-probe.js';
import type { TcpProbe } from './tcp-probe.js';
import type { TcpAggCounter, TcpAggregate } from './tcp-aggregates.js';

/** Labels an aggregate can carry besides `direction`. */
export type TcpLabel = 'cgroup' | 'container' | 'pod' | 'namespace' | 'port_class';

/** Every label createTcpMetrics knows besides `direction`, in wire order. */
export const TCP_LABELS: readonly TcpLabel[] = ['cgroup', 'container', 'pod', 'namespace', 'port_class'];

/**
 * What `identify` says about a cgroup; `cgroupPath` feeds the `cgroup` label (empty or absent: the id),
 * `labels` (the pod's labels) the `podLabels` ones.
 */
export type TcpWorkload = Pick<WorkloadIdentity, 'container' | 'pod' | 'namespace'> & Partial<Pick<WorkloadIdentity, 'cgroupPath'>>
  & { labels?: Readonly<Record<string, string>> };

/** The metric label a pod label becomes, as kube-state-metrics names them: `app.kubernetes.io/name` -> `label_app_kubernetes_io_name`. */
export function podLabelName(key: string): string {
  return `label_${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export interface TcpMetricsOptions {
  probe: Pick<TcpProbe, 'aggregates' | 'dropReasons' | 'resetReasons' | 'globals' | 'stats' | 'portClassNames'>;
  /** Labels kept. Default container, pod, namespace and port_class (no cgroup). */
  labels?: readonly TcpLabel[];
  /**
   * Pod labels copied onto every series as `label_<key>` (empty when the pod lacks it). Series are
   * already per pod, so these add none, except that a relabelled pod starts new series.
   */
  podLabels?: readonly string[];
  /** Most label sets per direction before the overflow series. Default 500. */
  maxSeries?: number;
  /** Cgroup id -> workload (see createTcpIdentity). Default: every label empty. */
  identify?(cgroupId: bigint): TcpWorkload;
  /** Where aggregates come from. Default `probe.aggregates()`; the agent adds its pinned baseline. */
  aggregates?(): TcpAggregate[];
}

export interface TcpMetrics extends MetricsSource {
  /** Reads the probe: every family with the current values, in a fixed order. */
  collect(): MetricFamily[];
  readonly limiter: CardinalityLimiter;
}

const DEFAULT_LABELS: readonly TcpLabel[] = ['container', 'pod', 'namespace', 'port_class'];
const NS_PER_S = 1e9;

/** A kernel histogram (nanoseconds) as a Prometheus histogram sample in seconds. */
export function tcpHistogramSample(labels: Labels, h: LogLinearHistogram): HistogramSample {
  return { labels, buckets: toPrometheusBuckets(h).map((b) => ({ le: b.le / NS_PER_S, count: b.count })), sum: h.sum / NS_PER_S, count: h.count };
}

// Counter families are named without `_total` (metric-family.ts): the renderers and remote_write add it.
const COUNTERS: readonly [TcpAggCounter, string, string][] = [
  ['opens', 'maxpro_tcp_connections_opened', 'TCP handshakes completed (connects on clients, accepts on servers).'],
  ['connectFailed', 'maxpro_tcp_connect_failures', 'Connects that went from SYN_SENT to CLOSE (refused, timed out, aborted).'],
  ['closes', 'maxpro_tcp_connections_closed', 'Tracked connections closed.'],
  ['closeErrors', 'maxpro_tcp_close_errors', 'Connections closed with an error set on the socket (reset, timeout, ...).'],
  ['resetsReceived', 'maxpro_tcp_resets_received', 'Connections ended by a received RST.'],
  ['retransmits', 'maxpro_tcp_retransmits', 'Segments retransmitted.'],
  ['synRetransmits', 'maxpro_tcp_syn_retransmits', 'SYNs retransmitted: the client side of SYN drops.'],
  ['synackRetransmits', 'maxpro_tcp_synack_retransmits', 'SYN-ACKs retransmitted by listeners.'],
  ['drops', 'maxpro_tcp_drops', 'TCP segments dropped by the kernel for sockets of this workload.'],
  ['listenOverflows', 'maxpro_tcp_listen_overflows', 'Handshakes refused because the accept queue was full.'],
  ['bytesAcked', 'maxpro_tcp_sent_bytes', 'Bytes sent and acknowledged, counted at close.'],
  ['bytesReceived', 'maxpro_tcp_received_bytes', 'Bytes received, counted at close.'],
];

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

interface Group {
  labels: Record<string, string>;
  counters: Partial<Record<TcpAggCounter, number>>;
  handshake: LogLinearHistogram;
  rtt: LogLinearHistogram;
  lifetime: LogLinearHistogram;
}

/** Creates the TCP metrics source. May throw `InvalidArgumentError`. */
export function createTcpMetrics(options: TcpMetricsOptions): TcpMetrics {
  const { probe } = options;
  const labels = options.labels ?? DEFAULT_LABELS;
  for (const l of labels) if (!TCP_LABELS.includes(l)) throw new InvalidArgumentError(`tcp metrics: unknown label ${l}`);
  const podLabels = (options.podLabels ?? []).map((key) => [key, podLabelName(key)] as const);
  const seen = new Map<string, string>();
  for (const [key, name] of podLabels) {
    const other = seen.get(name);
    if (other !== undefined) throw new InvalidArgumentError(`tcp metrics: pod labels ${other} and ${key} both become the metric label ${name}`);
    seen.set(name, key);
  }
  const labelNames = ['direction', ...TCP_LABELS.filter((l) => labels.includes(l)), ...podLabels.map(([, n]) => n), OVERFLOW_LABEL];
  const limiter = createCardinalityLimiter({ maxSeries: options.maxSeries ?? 500 });
  const identify = options.identify ?? ((): TcpWorkload => ({ container: '', pod: '', namespace: '' }));
  const aggregates = options.aggregates ?? ((): TcpAggregate[] => probe.aggregates() as TcpAggregate[]);

  return {
    limiter,
    collect(): MetricFamily[] {
      const groups = new Map<string, Group>();
      let overflowed = 0;
      for (const a of aggregates()) {
        const who = identify(a.cgroupId);
        // Insertion order is the label order on the wire.
        const full: Record<string, string> = { direction: a.dir };
        // An unresolved id still gets a series of its own (the cap bounds them).
        if (labels.includes('cgroup')) full['cgroup'] = who.cgroupPath || String(a.cgroupId);
        if (labels.includes('container')) full['container'] = who.container;
        if (labels.includes('pod')) full['pod'] = who.pod;
        if (labels.includes('namespace')) full['namespace'] = who.namespace;
        if (labels.includes('port_class')) full['port_class'] = probe.portClassNames[a.portClass] ?? 'other';
        for (const [key, name] of podLabels) full[name] = who.labels?.[key] ?? '';
        full[OVERFLOW_LABEL] = '';
        let key = JSON.stringify(full);
        if (!limiter.admit(key)) {
          overflowed++;
          for (const l of labelNames) if (l !== 'direction') full[l] = '';
          full[OVERFLOW_LABEL] = 'true';
          key = JSON.stringify(full);
        }
        let g = groups.get(key);
        if (!g) {
          g = { labels: full, counters: {}, handshake: createLogLinearHistogram(), rtt: createLogLinearHistogram(), lifetime: createLogLinearHistogram() };
          groups.set(key, g);
        }
        for (const [c] of COUNTERS) g.counters[c] = (g.counters[c] ?? 0) + a.counters[c];
        mergeInto(g.handshake, a.handshake);
        mergeInto(g.rtt, a.rtt);
        mergeInto(g.lifetime, a.lifetime);
      }
      limiter.sweep();
      const gs = [...groups.values()];
      const segDrops: ScalarSample[] = [], synDrops: ScalarSample[] = [];
      for (const d of probe.dropReasons()) {
        segDrops.push({ labels: { reason: d.name }, value: d.count });
        if (d.syns > 0) synDrops.push({ labels: { reason: d.name }, value: d.syns });
      }
      const st = probe.stats();
      const globals = probe.globals();
      return [
        { name: 'maxpro_tcp_handshake_duration_seconds', type: 'histogram', unit: 'seconds',
          help: 'TCP handshake time: on clients connect() (or the SYN) to ESTABLISHED, on servers SYN-ACK to ACK.',
          samples: gs.map((g) => tcpHistogramSample(g.labels, g.handshake)) },
        { name: 'maxpro_tcp_rtt_seconds', type: 'histogram', unit: 'seconds', help: 'Smoothed round-trip time of TCP connections at close.',
          samples: gs.map((g) => tcpHistogramSample(g.labels, g.rtt)) },
        { name: 'maxpro_tcp_connection_duration_seconds', type: 'histogram', unit: 'seconds', help: 'TCP connection lifetime, from connect() or handshake to close.',
          samples: gs.map((g) => tcpHistogramSample(g.labels, g.lifetime)) },
        ...COUNTERS.map(([c, name, help]): MetricFamily => ({
          name, type: 'counter', help, samples: gs.map((g) => ({ labels: g.labels, value: g.counters[c] ?? 0 })),
        })),
        { name: 'maxpro_tcp_segment_drops', type: 'counter', help: 'TCP segments dropped by the kernel, by skb drop reason.', samples: segDrops },
        { name: 'maxpro_tcp_syn_drops', type: 'counter', help: 'SYN segments dropped by the kernel, by skb drop reason.', samples: synDrops },
        { name: 'maxpro_tcp_resets_sent', type: 'counter', help: 'RSTs sent, by reason.',
          samples: probe.resetReasons().map((r) => ({ labels: { reason: r.name }, value: r.count })) },
        { name: 'maxpro_tcp_node_events', type: 'counter', help: 'Machine-wide TCP counters of the probe, by kind.',
          samples: Object.entries(globals).map(([kind, value]) => ({ labels: { kind: snake(kind) }, value })) },
        { name: 'maxpro_tcp_probe_lost_records', type: 'counter', help: 'TCP probe records lost (ring buffer full, reader queue full).',
          samples: [{ labels: {}, value: tcpProbeLost(st) }] },
        { name: 'maxpro_tcp_overflow_aggregates', type: 'gauge',
          help: 'TCP aggregates folded into the overflow series by the series cap, at the last collection.', samples: [{ labels: {}, value: overflowed }] },
      ];
    },
  };
}
