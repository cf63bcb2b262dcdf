// SPDX-License-Identifier: Apache-2.0
/** `maxpro top tcp`: the busiest containers and pods by TCP connection rate, refreshed every second. */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../command.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { matchesWorkload } from '../../lib/workload-match.js';
import { createTcpProbe } from '../../probes/tcp/tcp-probe.js';
import type { TcpAggregate } from '../../probes/tcp/tcp-aggregates.js';
import { createTcpIdentity } from '../../probes/tcp/tcp-identity.js';
import type { WorkloadIdentity } from '../../probes/tcp/tcp-identity.js';
import { createLogLinearHistogram, mergeInto, quantile, subtract } from '../../lib/histogram/index.js';
import type { LogLinearHistogram } from '../../lib/histogram/index.js';
import { createTable } from '../output/table.js';
import { formatJsonLine } from '../output/json-lines.js';
import { parseWorkloadFilters, workloadFilterHelp, workloadFilterOptions } from '../workload-filter-flags.js';
import type { WorkloadFilters } from '../workload-filter-flags.js';

/** Aggregates are per workload: no comm, pid or failed-connect filter applies to a row. */
const FILTERS = ['container', 'pod', 'namespace'] as const;

const HELP = `USAGE: maxpro top tcp [flags]

The top containers and pods by TCP connections per second, with p99
connect latency, failed connects, retransmits and drops over the last
interval. Counts come from in-kernel aggregates, so the cost does not grow
with the connection rate.

FLAGS:
  --interval SEC       refresh period (default 1)
  --limit N            rows shown (default 20)
  --sort KEY           conns | p99 | retrans | drops | failed (default conns)
${workloadFilterHelp('workloads', FILTERS, { container: 'only containers whose id starts with ID', pod: 'only pods with this name (or pod UID)', namespace: 'only pods of this Kubernetes namespace' })}
  --json               one JSON object per row and interval
  --kubeconfig PATH    pod names from this cluster (default: in-cluster account)
  --duration SEC       stop after SEC seconds

EXAMPLES:
  maxpro top tcp
  maxpro top tcp --sort p99 --limit 10
  maxpro top tcp --json --duration 10 | jq -s 'map(select(.conns_per_sec > 100))'
`;

/** One workload's figures over an interval. */
export interface TopTcpRow {
  workload: string;
  container: string;
  pod: string;
  namespace: string;
  conns_per_sec: number;
  accepts_per_sec: number;
  connect_p99_ms: number;
  failed: number;
  retransmits: number;
  drops: number;
}

interface Snapshot {
  opensClient: number;
  opensServer: number;
  failed: number;
  retransmits: number;
  drops: number;
  connect: LogLinearHistogram;
}

const SORT_KEYS = { conns: 'conns_per_sec', p99: 'connect_p99_ms', retrans: 'retransmits', drops: 'drops', failed: 'failed' } as const;

function workloadOf(w: WorkloadIdentity, cgroupId: bigint): string {
  if (w.pod) return w.namespace ? `${w.namespace}/${w.pod}` : `pod:${w.pod}`;
  if (w.container) return w.container;
  return w.cgroupPath || `cgroup:${cgroupId}`;
}

/** Sums aggregates per workload. */
export function snapshotByWorkload(aggs: readonly TcpAggregate[], identify: (id: bigint) => WorkloadIdentity): Map<string, Snapshot & { who: WorkloadIdentity }> {
  const out = new Map<string, Snapshot & { who: WorkloadIdentity }>();
  for (const a of aggs) {
    const who = identify(a.cgroupId);
    const key = workloadOf(who, a.cgroupId);
    let s = out.get(key);
    if (!s) {
      s = { who, opensClient: 0, opensServer: 0, failed: 0, retransmits: 0, drops: 0, connect: createLogLinearHistogram() };
      out.set(key, s);
    }
    if (a.dir === 'client') {
      s.opensClient += a.counters.opens;
      mergeInto(s.connect, a.handshake);
    } else {
      s.opensServer += a.counters.opens;
    }
    s.failed += a.counters.connectFailed;
    s.retransmits += a.counters.retransmits;
    s.drops += a.counters.drops;
  }
  return out;
}

/** The rows of one interval: `cur - prev`, per second of `seconds`. */
export function topRows(prev: ReadonlyMap<string, Snapshot>, cur: ReadonlyMap<string, Snapshot & { who: WorkloadIdentity }>, seconds: number): TopTcpRow[] {
  const rows: TopTcpRow[] = [];
  for (const [key, c] of cur) {
    const p = prev.get(key);
    const d = (f: keyof Omit<Snapshot, 'connect'>): number => c[f] - (p?.[f] ?? 0);
    const hist = p ? subtract(c.connect, p.connect) : c.connect;
    const row: TopTcpRow = {
      workload: key, container: c.who.container, pod: c.who.pod, namespace: c.who.namespace,
      conns_per_sec: d('opensClient') / seconds,
      accepts_per_sec: d('opensServer') / seconds,
      connect_p99_ms: hist.count > 0 ? quantile(hist, 0.99) / 1e6 : 0,
      failed: d('failed'),
      retransmits: d('retransmits'),
      drops: d('drops'),
    };
    if (row.conns_per_sec || row.accepts_per_sec || row.failed || row.retransmits || row.drops) rows.push(row);
  }
  return rows;
}

/** Whether a row passes the workload filters. */
export function matchesTopFilters(r: TopTcpRow, f: WorkloadFilters): boolean {
  return matchesWorkload(r.container, [r.pod], r.namespace, f);
}

const TABLE = createTable({
  columns: [
    { header: 'WORKLOAD', width: 40, truncate: 'start' },
    { header: 'CONN/S', width: 9, align: 'right' },
    { header: 'ACCEPT/S', width: 9, align: 'right' },
    { header: 'P99_MS', width: 9, align: 'right' },
    { header: 'FAILED', width: 7, align: 'right' },
    { header: 'RETRANS', width: 8, align: 'right' },
    { header: 'DROPS', width: 7, align: 'right' },
  ],
});

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...workloadFilterOptions(FILTERS),
      'interval': { type: 'string' }, 'limit': { type: 'string' }, 'sort': { type: 'string' },
      'json': { type: 'boolean' }, 'kubeconfig': { type: 'string' }, 'duration': { type: 'string' },
    },
  });
  const filters = parseWorkloadFilters(values);
  const interval = Number(values.interval ?? '1');
  if (!(interval >= 0.1 && interval <= 3600)) throw new InvalidArgumentError(`--interval: ${values.interval} not in 0.1..3600`);
  const limit = Number(values.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgumentError(`--limit: ${values.limit} is not a positive integer`);
  const sortName = (values.sort ?? 'conns') as keyof typeof SORT_KEYS;
  if (!(sortName in SORT_KEYS)) throw new InvalidArgumentError(`--sort: ${values.sort} is not one of ${Object.keys(SORT_KEYS).join(', ')}`);
  const sortKey = SORT_KEYS[sortName];
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration >= 0)) throw new InvalidArgumentError(`--duration: ${values.duration} is not a number >= 0`);
  const json = values.json ?? false;
  const tty = !json && (io.out as NodeJS.WriteStream).isTTY === true;

  const identity = await createTcpIdentity({
    kubernetes: values.kubeconfig ? { kubeconfig: values.kubeconfig } : {},
    onNotice: (m) => io.err.write(`maxpro: ${m}\n`),
  });
  const probe = createTcpProbe({ policy: { failedConnects: false } });
  let prev = snapshotByWorkload(probe.aggregates(), identity.identify);
  let last = process.hrtime.bigint();
  const tick = (): void => {
    const now = process.hrtime.bigint();
    const cur = snapshotByWorkload(probe.aggregates(), identity.identify);
    let rows = topRows(prev, cur, Number(now - last) / 1e9);
    prev = cur;
    last = now;
    rows = rows.filter((r) => matchesTopFilters(r, filters));
    rows.sort((a, b) => b[sortKey] - a[sortKey]);
    rows = rows.slice(0, limit);
    if (json) {
      const time = new Date().toISOString();
      io.out.write(rows.map((r) => formatJsonLine({ time, ...r })).join(''));
      return;
    }
    const st = probe.stats();
    const lost = Object.values(st.kernelDrops).reduce((a, b) => a + Number(b), 0) + st.readerDrops;
    let text = tty ? '\x1b[H\x1b[2J' : '\n';
    text += `${new Date().toISOString().slice(11, 19)}  top ${limit} by ${sortName}, ${interval}s interval, lost ${lost}\n${TABLE.header()}\n`;
    for (const r of rows) {
      text += `${TABLE.row([r.workload, r.conns_per_sec.toFixed(1), r.accepts_per_sec.toFixed(1), r.connect_p99_ms ? r.connect_p99_ms.toFixed(3) : '-', r.failed, r.retransmits, r.drops])}\n`;
    }
    io.out.write(text);
  };
  const timer = setInterval(tick, interval * 1000);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    const t = duration !== undefined ? setTimeout(resolve, duration * 1000) : undefined;
    io.signal.addEventListener('abort', () => {
      if (t) clearTimeout(t);
      resolve();
    }, { once: true });
  });
  clearInterval(timer);
  await probe.close();
  await identity.close();
  return 0;
}

export const topTcpCommand: Command = {
  name: 'top tcp',
  help: HELP,
  run,
};
