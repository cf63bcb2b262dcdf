// SPDX-License-Identifier: Apache-2.0
/** The TCP probe's module (see src/probes/probe-module.ts). */
import type { z } from 'zod';
import { configSection } from '../../lib/config-section.js';
import type { ProbeModule, ProbeRoute } from '../probe-module.js';
import { mergeTcpDemands } from './tcp-demand.js';
import type { TcpDemand } from './tcp-demand.js';
import { TCP_PUSH_DOWN } from './tcp-push-down.js';
import type { TcpKernelPolicy } from './tcp-push-down.js';
import type { TcpSource } from './tcp-source.js';

// The labels of `createTcpMetrics` (tcp-metrics.ts); `direction` is always present.
// A Kubernetes label key: an optional DNS-subdomain prefix and a name of up to 63 characters.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const TCP_METRIC_LABELS = ['cgroup', 'container', 'pod', 'namespace', 'port_class'] as const;

const TCP_CONFIG = (zod: typeof z) => zod.object({
  enabled: zod.boolean().default(true),
  metrics: configSection(zod.object({
    labels: zod.array(zod.enum(TCP_METRIC_LABELS)).default(() => [...TCP_METRIC_LABELS])
      .describe('Labels of the TCP aggregate metrics besides direction (always present).'),
    maxSeries: zod.number().int().min(1).max(100_000).default(500)
      .describe('Most label sets kept; the rest fold into one overflow series per direction (maxpro_overflow="true").'),
    podLabels: zod.array(zod.string().regex(LABEL_KEY, 'expected a label key, e.g. app or app.kubernetes.io/name')).max(16).default([])
      .refine((keys) => new Set(keys).size === keys.length, 'each label key once')
      .describe('Pod labels (or a `workloads` entry\'s labels) copied onto the TCP aggregate metrics as label_<key>, ' +
        'non-alphanumerics as _ (as kube-state-metrics names them); empty where the pod lacks the label.'),
  }).strict()),
}).strict();

export type TcpConfig = z.output<ReturnType<typeof TCP_CONFIG>>;

const HOUR_NS = 3_600_000_000_000;

/** `GET /tcp/aggregates`, for `maxpro top tcp` (tcp-aggregates-route.ts, imported at the first request). */
const AGGREGATES_ROUTE: ProbeRoute<TcpSource> = {
  path: '/tcp/aggregates',
  create(ctx) {
    const route = import('./tcp-aggregates-route.js').then(({ createTcpAggregatesRoute }) => createTcpAggregatesRoute({
      read: () => {
        const s = ctx.source();
        return 'unavailable' in s ? s : { aggregates: s.source.aggregates(), lost: s.lost };
      },
      identity: (id) => ctx.identity(id),
    }));
    return {
      handle(req, res) {
        route.then((r) => r.handle(req, res)).catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`${err instanceof Error ? err.message : String(err)}\n`);
        });
      },
    };
  },
};

export const TCP_MODULE = {
  name: 'tcp',
  summary: 'in-kernel connection aggregates per workload, and records of failures and slow handshakes',
  label: 'TCP',
  config: TCP_CONFIG,
  predicateFields: {
    'tcp.connect.latency': { unit: 'duration', min: 0, max: HOUR_NS, description: 'handshake time: SYN_SENT to ESTABLISHED (client), SYN-ACK to ACK (server)' },
    'tcp.rtt': { unit: 'duration', min: 0, max: HOUR_NS, description: 'smoothed round-trip time at close' },
    'tcp.lifetime': { unit: 'duration', min: 0, max: 30 * 24 * HOUR_NS, description: 'connection lifetime, open to close' },
    'tcp.retransmits': { unit: 'count', min: 0, max: 2 ** 32 - 1, description: 'segments retransmitted over the connection' },
    'tcp.connect.failed': { unit: 'count', min: 0, max: 1, description: '1 for a failed connect, else 0' },
    'tcp.bytes.sent': { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'bytes sent and acknowledged' },
    'tcp.bytes.received': { unit: 'bytes', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'bytes received' },
  },
  // Detected at load (the agent asks the loaded source); the build's object has none.
  capabilities: ['CAP_BPF', 'CAP_PERFMON'],
  cgroupFilter: false,
  defaultPolicy: {
    // In-kernel aggregates for all TCP traffic, records only where they matter.
    rules: [
      { name: 'tcp-failed-connects', when: 'tcp.connect.failed == 1', action: 'keep' },
      { name: 'tcp-slow-handshakes', when: 'tcp.connect.latency > 200ms', action: 'keep' },
      { name: 'tcp-aggregates-only', probes: ['tcp'], action: 'drop' },
    ],
    description: 'of TCP, keep failed connects and handshakes over 200 ms (the kernel aggregates count every connection)',
  },
  pushDown: TCP_PUSH_DOWN,
  stream: {
    // Narrow filters ask for narrow records, as `trace tcp --failed` does when it loads the probe itself.
    demandOf(f) {
      if (f.failed) return { failed: true };
      if (f.minLatencyNs !== undefined && f.minLatencyNs > 0) return { minHandshakeNs: f.minLatencyNs };
      return { stream: true };
    },
    merge: (list) => mergeTcpDemands(list),
    matches(e, f) {
      if (f.minLatencyNs !== undefined && (e.name === 'tcp.connect_failed' || !((e.fields['tcp.connect.latency'] ?? 0) >= f.minLatencyNs))) return false;
      if (f.failed && e.fields['tcp.connect.failed'] !== 1) return false;
      if (f.port !== undefined) {
        const a = e.attributes();
        if (a['source.port'] !== f.port && a['destination.port'] !== f.port) return false;
      }
      return true;
    },
  },
  routes: [AGGREGATES_ROUTE],
  // Records are filtered in the kernel; the aggregates count every connection.
  upSummary: { family: 'maxpro_tcp_connections_opened', noun: 'connections' },
  async events() {
    const { TCP_CONN_EVENT, TCP_SIGNAL_EVENT, TCP_EVENT_KIND } = await import('./tcp-event.js');
    return { layouts: [TCP_CONN_EVENT, TCP_SIGNAL_EVENT], group: 'TCP', kinds: TCP_EVENT_KIND };
  },
  commands: [{
    name: 'trace tcp',
    summary: 'live table of TCP connects, accepts, closes, retransmits, resets and drops',
    load: async () => (await import('./cli/trace-tcp.js')).traceTcpCommand,
  }, {
    name: 'top tcp',
    summary: 'top containers and pods by TCP connections/s, p99 connect latency, retransmits and drops',
    load: async () => (await import('./cli/top-tcp.js')).topTcpCommand,
  }],
  async createSource(ctx) {
    const { createTcpSource } = await import('./tcp-source.js');
    return createTcpSource({
      policy: ctx.kernel, metrics: ctx.config.metrics, emit: ctx.emit, identify: (id) => ctx.workload(id),
      ...(ctx.pinDir ? { pinDir: ctx.pinDir } : {}), keepPinned: ctx.keepPinned, log: ctx.log,
    });
  },
} as const satisfies ProbeModule<'tcp', TcpConfig, TcpKernelPolicy, TcpDemand, TcpSource>;
