// SPDX-License-Identifier: Apache-2.0
/**
 * TCP probe aggregates as metric families: handshake, RTT and lifetime
 * histograms and connection counters per direction, with bounded labels
 * (container, pod, namespace, port class: each can be turned off), plus
 * machine-wide drop and reset counts by reason. Series past the cap go to
 * one overflow series per direction, and the overflow is counted.
 */
import { createCardinalityLimiter, OVERFLOW_LABEL } from '../../lib/cardinality-limiter.js';
import type { CardinalityLimiter } from '../../lib/cardinality-limiter.js';
import { createLogLinearHistogram, mergeInto, toPrometheusBuckets } from '../../lib/histogram/index.js';
import type { LogLinearHistogram } from '../../lib/histogram/index.js';
import type { MetricRegistry } from '../../exporters/prometheus/index.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import type { WorkloadIdentity } from './tcp-identity.js';
import type { TcpProbe } from './tcp-probe.js';
import type { TcpAggCounter, TcpAggregate } from './tcp-aggregates.js';

/** Labels an aggregate can carry besides `direction`. */
export type TcpLabel = 'container' | 'pod' | 'namespace' | 'port_class';

export interface TcpMetricsOptions {
  probe: Pick<TcpProbe, 'aggregates' | 'dropReasons' | 'resetReasons' | 'globals' | 'stats' | 'portClassNames'>;
  registry: MetricRegistry;
  /** Labels kept. Default all four. */
  labels?: readonly TcpLabel[];
  /** Most label sets per direction before the overflow series. Default 500. */
  maxSeries?: number;
  /** Cgroup id -> workload (see createTcpIdentity). Default: every label empty. */
  identify?(cgroupId: bigint): Pick<WorkloadIdentity, 'container' | 'pod' | 'namespace'>;
}

export interface TcpMetrics {
  /** Reads the probe and replaces every series with the current values. */
  collect(): void;
  readonly limiter: CardinalityLimiter;
}

const ALL_LABELS: readonly TcpLabel[] = ['container', 'pod', 'namespace', 'port_class'];
const NS_PER_S = 1e9;

const COUNTERS: readonly [TcpAggCounter, string, string][] = [
  ['opens', 'maxpro_tcp_connections_opened_total', 'TCP handshakes completed (connects on clients, accepts on servers).'],
  ['connectFailed', 'maxpro_tcp_connect_failures_total', 'Connects that went from SYN_SENT to CLOSE (refused, timed out, aborted).'],
  ['closes', 'maxpro_tcp_connections_closed_total', 'Tracked connections closed.'],
  ['resetsReceived', 'maxpro_tcp_resets_received_total', 'Connections ended by a received RST.'],
  ['retransmits', 'maxpro_tcp_retransmits_total', 'Segments retransmitted.'],
  ['synRetransmits', 'maxpro_tcp_syn_retransmits_total', 'SYNs retransmitted: the client side of SYN drops.'],
  ['synackRetransmits', 'maxpro_tcp_synack_retransmits_total', 'SYN-ACKs retransmitted by listeners.'],
  ['drops', 'maxpro_tcp_drops_total', 'TCP segments dropped by the kernel for sockets of this workload.'],
  ['listenOverflows', 'maxpro_tcp_listen_overflows_total', 'Handshakes refused because the accept queue was full.'],
  ['bytesAcked', 'maxpro_tcp_sent_bytes_total', 'Bytes sent and acknowledged, counted at close.'],
  ['bytesReceived', 'maxpro_tcp_received_bytes_total', 'Bytes received, counted at close.'],
];

interface Group {
  labels: Record<string, string>;
  counters: Partial<Record<TcpAggCounter, number>>;
  handshake: LogLinearHistogram;
  rtt: LogLinearHistogram;
  lifetime: LogLinearHistogram;
}

/** Registers the TCP families in `registry`. May throw `InvalidArgumentError`. */
export function createTcpMetrics(options: TcpMetricsOptions): TcpMetrics {
  const { probe, registry } = options;
  const labels = options.labels ?? ALL_LABELS;
  for (const l of labels) if (!ALL_LABELS.includes(l)) throw new InvalidArgumentError(`tcp metrics: unknown label ${l}`);
  const labelNames = ['direction', ...ALL_LABELS.filter((l) => labels.includes(l)), OVERFLOW_LABEL];
  const limiter = createCardinalityLimiter({ maxSeries: options.maxSeries ?? 500 });
  const identify = options.identify ?? ((): Pick<WorkloadIdentity, 'container' | 'pod' | 'namespace'> => ({ container: '', pod: '', namespace: '' }));

  const hHandshake = registry.histogram('maxpro_tcp_handshake_duration_seconds',
    'TCP handshake time: connect() to ESTABLISHED on clients, SYN-ACK to ACK on servers.', labelNames);
  const hRtt = registry.histogram('maxpro_tcp_rtt_seconds', 'Smoothed round-trip time of TCP connections at close.', labelNames);
  const hLife = registry.histogram('maxpro_tcp_connection_duration_seconds', 'TCP connection lifetime, from connect() or handshake to close.', labelNames);
  const counters = COUNTERS.map(([key, name, help]) => [key, registry.counter(name, help, labelNames)] as const);
  const segDrops = registry.counter('maxpro_tcp_segment_drops_total', 'TCP segments dropped by the kernel, by skb drop reason.', ['reason']);
  const synDrops = registry.counter('maxpro_tcp_syn_drops_total', 'SYN segments dropped by the kernel, by skb drop reason.', ['reason']);
  const rstSent = registry.counter('maxpro_tcp_resets_sent_total', 'RSTs sent, by reason.', ['reason']);
  const lost = registry.counter('maxpro_tcp_probe_lost_records_total', 'TCP probe records lost (ring buffer full, reader queue full).');
  const overflow = registry.gauge('maxpro_tcp_overflow_aggregates', 'TCP aggregates folded into the overflow series by the series cap, at the last collection.');

  const toSeconds = (h: LogLinearHistogram): { buckets: { le: number; count: number }[]; sum: number; count: number } => ({
    buckets: toPrometheusBuckets(h).map((b) => ({ le: b.le / NS_PER_S, count: b.count })),
    sum: h.sum / NS_PER_S,
    count: h.count,
  });

  return {
    limiter,
    collect(): void {
      const groups = new Map<string, Group>();
      let overflowed = 0;
      for (const a of probe.aggregates() as TcpAggregate[]) {
        const who = identify(a.cgroupId);
        const full: Record<string, string> = { direction: a.dir };
        if (labels.includes('container')) full['container'] = who.container;
        if (labels.includes('pod')) full['pod'] = who.pod;
        if (labels.includes('namespace')) full['namespace'] = who.namespace;
        if (labels.includes('port_class')) full['port_class'] = probe.portClassNames[a.portClass] ?? 'other';
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
      for (const f of [hHandshake, hRtt, hLife, segDrops, synDrops, rstSent, lost, overflow]) f.clear();
      for (const [, fam] of counters) fam.clear();
      for (const g of groups.values()) {
        hHandshake.set(g.labels, toSeconds(g.handshake));
        hRtt.set(g.labels, toSeconds(g.rtt));
        hLife.set(g.labels, toSeconds(g.lifetime));
        for (const [c, fam] of counters) fam.set(g.labels, g.counters[c] ?? 0);
      }
      for (const d of probe.dropReasons()) {
        segDrops.set({ reason: d.name }, d.count);
        if (d.syns > 0) synDrops.set({ reason: d.name }, d.syns);
      }
      for (const r of probe.resetReasons()) rstSent.set({ reason: r.name }, r.count);
      const st = probe.stats();
      lost.set({}, Object.values(st.kernelDrops).reduce((s, v) => s + Number(v), 0) + st.readerDrops);
      overflow.set({}, overflowed);
    },
  };
}
