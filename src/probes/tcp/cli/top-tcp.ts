// SPDX-License-Identifier: Apache-2.0
/**
 * `maxpro top tcp`: the busiest containers and pods by TCP connection rate,
 * refreshed every second, from a running agent's TCP aggregates or from a
 * TCP probe loaded here. Both sources feed the same view.
 */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../../../cli/command.js';
import { InvalidArgumentError } from '../../../lib/errors.js';
import { matchesWorkload } from '../../../lib/workload-match.js';
import { tcpProbeLost } from '../tcp-probe.js';
import type { TcpAggregate } from '../tcp-aggregates.js';
import type { TcpAggregatesSnapshot } from '../tcp-aggregates-json.js';
import { openLocalTcp } from './open-local-tcp.js';
import type { WorkloadIdentity } from '../../../lib/workload-identity.js';
import { NO_IDENTITY } from '../../../enrich/workload-resolver.js';
import { createLogLinearHistogram, mergeInto, quantile, subtract } from '../../../lib/histogram/index.js';
import type { LogLinearHistogram } from '../../../lib/histogram/index.js';
import { createTable } from '../../../cli/output/table.js';
import { formatJsonLine } from '../../../cli/output/json-lines.js';
import { fetchTcpAggregates } from './tcp-aggregates-client.js';
import type { LiveStreamEnd } from '../../../agent/http/live-stream-client.js';
import { attachToAgent, waitForStop } from '../../../cli/agent-stream.js';
import {
  EVENT_SOURCE_HELP, EVENT_SOURCE_OPTIONS, parseEventSource, parseWorkloadFilters, workloadFilterHelp, workloadFilterOptions,
} from '../../../cli/workload-filter-flags.js';
import type { WorkloadFilters } from '../../../cli/workload-filter-flags.js';

/** Aggregates are per workload: no comm, pid or failed-connect filter applies to a row. */
const FILTERS = ['container', 'pod', 'namespace'] as const;

const HELP = `USAGE: maxpro top tcp [flags]

The top containers and pods by TCP connections per second, with p99
connect latency, failed connects, retransmits and drops over the last
interval. Counts come from in-kernel aggregates, so the cost does not grow
with the connection rate.

When an agent runs on the node (\`maxpro agent\`, \`maxpro up\`), the command
reads the agent's TCP aggregates every interval instead of loading the
probe, and shows the agent's workload names (pods by name when the agent
watches the cluster, else by pod UID; --pod matches what is shown). A line on stderr says which source is used; "lost" counts what the
source's probe lost since the command started.

FLAGS:
  --interval SEC       refresh period (default 1)
  --limit N            rows shown (default 20)
  --sort KEY           conns | p99 | retrans | drops | failed (default conns)
${workloadFilterHelp('workloads', FILTERS, { container: 'only containers whose id starts with ID', pod: 'only pods with this name (or pod UID)', namespace: 'only pods of this Kubernetes namespace' })}
${EVENT_SOURCE_HELP}
  --json               one JSON object per row and interval (with the
                       interval's counts, conns and accepts)
  --kubeconfig PATH    pod names from this cluster (default: in-cluster account)
  --duration SEC       stop after SEC seconds

EXAMPLES:
  maxpro top tcp
  maxpro top tcp --sort p99 --limit 10
  maxpro top tcp --json --duration 10 | jq -s 'map(select(.conns_per_sec > 100))'
  maxpro top tcp --agent http://10.0.0.7:9464   # another node's agent
  maxpro top tcp --local                        # load the probe here, even with an agent
`;

/** One workload's figures over an interval. */
export interface TopTcpRow {
  workload: string;
  container: string;
  pod: string;
  namespace: string;
  conns_per_sec: number;
  accepts_per_sec: number;
  /** Connects (client opens) in the interval. */
  conns: number;
  /** Accepts (server opens) in the interval. */
  accepts: number;
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

/** Cumulative aggregates by their kernel key (cgroup, direction, port class): the baseline of the next interval. */
export type TopTcpBaseline = ReadonlyMap<string, TcpAggregate>;

const aggKey = (a: TcpAggregate): string => `${a.cgroupId}/${a.dir}/${a.portClass}`;

export function topTcpBaseline(aggs: readonly TcpAggregate[]): Map<string, TcpAggregate> {
  return new Map(aggs.map((a) => [aggKey(a), a]));
}

/**
 * One interval per workload: each aggregate's difference from its previous
 * reading, summed under the workload's current name. Differences are taken
 * per aggregate, not per workload, so a cgroup whose name changes (its pod's
 * metadata arrived) does not count its whole history as one interval. An
 * aggregate that went backwards (its probe restarted without pinned maps)
 * counts from zero.
 */
export function intervalByWorkload(prev: TopTcpBaseline, cur: readonly TcpAggregate[], identify: (id: bigint) => WorkloadIdentity): Map<string, Snapshot & { who: WorkloadIdentity }> {
  const out = new Map<string, Snapshot & { who: WorkloadIdentity }>();
  for (const a of cur) {
    const was = prev.get(aggKey(a));
    const reset = was !== undefined && (a.counters.opens < was.counters.opens || a.handshake.count < was.handshake.count);
    const p = reset ? undefined : was;
    const d = (f: keyof TcpAggregate['counters']): number => a.counters[f] - (p?.counters[f] ?? 0);
    const who = identify(a.cgroupId);
    const key = workloadOf(who, a.cgroupId);
    let s = out.get(key);
    if (!s) {
      s = { who, opensClient: 0, opensServer: 0, failed: 0, retransmits: 0, drops: 0, connect: createLogLinearHistogram() };
      out.set(key, s);
    }
    if (a.dir === 'client') {
      s.opensClient += d('opens');
      mergeInto(s.connect, p ? subtract(a.handshake, p.handshake) : a.handshake);
    } else {
      s.opensServer += d('opens');
    }
    s.failed += d('connectFailed');
    s.retransmits += d('retransmits');
    s.drops += d('drops');
  }
  return out;
}

/** The rows of one interval (see intervalByWorkload), per second of `seconds`; workloads with nothing to show are left out. */
export function topRows(interval: ReadonlyMap<string, Snapshot & { who: WorkloadIdentity }>, seconds: number): TopTcpRow[] {
  const rows: TopTcpRow[] = [];
  for (const [key, c] of interval) {
    const row: TopTcpRow = {
      workload: key, container: c.who.container, pod: c.who.pod, namespace: c.who.namespace,
      conns_per_sec: c.opensClient / seconds,
      accepts_per_sec: c.opensServer / seconds,
      conns: c.opensClient,
      accepts: c.opensServer,
      connect_p99_ms: c.connect.count > 0 ? quantile(c.connect, 0.99) / 1e6 : 0,
      failed: c.failed,
      retransmits: c.retransmits,
      drops: c.drops,
    };
    if (row.conns_per_sec || row.accepts_per_sec || row.failed || row.retransmits || row.drops) rows.push(row);
  }
  return rows;
}

/** Whether a row passes the workload filters. */
export function matchesTopFilters(r: TopTcpRow, f: WorkloadFilters): boolean {
  return matchesWorkload(r.container, r.pod, r.namespace, f);
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

type SortName = keyof typeof SORT_KEYS;

/** What a source holds at one instant: cumulative aggregates, who they belong to, and its probe's losses so far. */
export interface TopTcpReading {
  aggregates: readonly TcpAggregate[];
  identify(cgroupId: bigint): WorkloadIdentity;
  lost: number;
}

export interface TopTcpViewOptions {
  filters: WorkloadFilters;
  sort: SortName;
  limit: number;
  /** Seconds, for the title line. */
  interval: number;
  json: boolean;
  /** Redraw in place (a terminal) rather than append. */
  tty: boolean;
  out: NodeJS.WritableStream;
}

/** The rows and their output, whatever the source: each reading is compared with the previous one. */
export interface TopTcpView {
  /** The first reading: the baseline of the first interval. */
  start(r: TopTcpReading): void;
  /** Writes the interval since the previous reading. */
  show(r: TopTcpReading): void;
}

/** Creates the view `top tcp` writes through, for either source. */
export function createTopTcpView(o: TopTcpViewOptions): TopTcpView {
  const sortKey = SORT_KEYS[o.sort];
  let prev: TopTcpBaseline = new Map();
  let last = process.hrtime.bigint();
  let lostAtStart = 0;
  return {
    start(r) {
      prev = topTcpBaseline(r.aggregates);
      last = process.hrtime.bigint();
      lostAtStart = r.lost;
    },
    show(r) {
      const now = process.hrtime.bigint();
      let rows = topRows(intervalByWorkload(prev, r.aggregates, r.identify), Number(now - last) / 1e9);
      prev = topTcpBaseline(r.aggregates);
      last = now;
      rows = rows.filter((row) => matchesTopFilters(row, o.filters));
      rows.sort((a, b) => b[sortKey] - a[sortKey]);
      rows = rows.slice(0, o.limit);
      if (o.json) {
        const time = new Date().toISOString();
        o.out.write(rows.map((row) => formatJsonLine({ time, ...row })).join(''));
        return;
      }
      let text = o.tty ? '\x1b[H\x1b[2J' : '\n';
      text += `${new Date().toISOString().slice(11, 19)}  top ${o.limit} by ${o.sort}, ${o.interval}s interval, lost ${Math.max(0, r.lost - lostAtStart)}\n${TABLE.header()}\n`;
      for (const row of rows) {
        text += `${TABLE.row([row.workload, row.conns_per_sec.toFixed(1), row.accepts_per_sec.toFixed(1), row.connect_p99_ms ? row.connect_p99_ms.toFixed(3) : '-', row.failed, row.retransmits, row.drops])}\n`;
      }
      o.out.write(text);
    },
  };
}

/** A reading of the agent's aggregates, its workloads as the agent names them. */
export function readingFromAgent(s: TcpAggregatesSnapshot): TopTcpReading {
  const who = new Map<bigint, WorkloadIdentity>();
  for (const a of s.aggregates) who.set(a.aggregate.cgroupId, a.workload);
  return {
    aggregates: s.aggregates.map((a) => a.aggregate),
    identify: (id) => who.get(id) ?? NO_IDENTITY,
    lost: s.lost,
  };
}

/**
 * Shows a reading every interval until the signal aborts, `duration` passes
 * or a reading fails; resolves to that failure, if any. A reading still
 * running when the next is due makes that one skip.
 */
async function loop(read: () => Promise<TopTcpReading> | TopTcpReading, view: TopTcpView, interval: number, duration: number | undefined, signal: AbortSignal): Promise<string | undefined> {
  let busy = false;
  let failed!: (why: string) => void;
  const failure = new Promise<LiveStreamEnd>((resolve) => { failed = (error) => resolve({ events: 0, by: 'agent', error }); });
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.resolve().then(read).then((r) => view.show(r), (err: unknown) => failed(err instanceof Error ? err.message : String(err)))
      .finally(() => { busy = false; });
  }, interval * 1000);
  try {
    return (await waitForStop(signal, duration, failure))?.error;
  } finally {
    clearInterval(timer);
  }
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...workloadFilterOptions(FILTERS), ...EVENT_SOURCE_OPTIONS,
      'interval': { type: 'string' }, 'limit': { type: 'string' }, 'sort': { type: 'string' },
      'json': { type: 'boolean' }, 'kubeconfig': { type: 'string' }, 'duration': { type: 'string' },
    },
  });
  const filters = parseWorkloadFilters(values);
  const interval = Number(values.interval ?? '1');
  if (!(interval >= 0.1 && interval <= 3600)) throw new InvalidArgumentError(`--interval: ${values.interval} not in 0.1..3600`);
  const limit = Number(values.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgumentError(`--limit: ${values.limit} is not a positive integer`);
  const sortName = (values.sort ?? 'conns') as SortName;
  if (!(sortName in SORT_KEYS)) throw new InvalidArgumentError(`--sort: ${values.sort} is not one of ${Object.keys(SORT_KEYS).join(', ')}`);
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration >= 0)) throw new InvalidArgumentError(`--duration: ${values.duration} is not a number >= 0`);
  const source = parseEventSource(values);
  const json = values.json ?? false;
  const tty = !json && (io.out as NodeJS.WriteStream).isTTY === true;
  const view = createTopTcpView({ filters, sort: sortName, limit, interval, json, tty, out: io.out });

  // The agent's aggregates, when one answers: its first snapshot is the baseline.
  const first = await attachToAgent(source, io.err, (url) => fetchTcpAggregates({ url, signal: io.signal }));
  if (first && !source.local) {
    if (values.kubeconfig !== undefined) io.err.write('maxpro: --kubeconfig: not applied to the agent\'s workloads (use --local)\n');
    view.start(readingFromAgent(first));
    // Later polls may take longer than the first answer on a busy agent, but not longer than an interval.
    const timeoutMs = Math.max(1000, interval * 1000);
    const failed = await loop(async () => readingFromAgent(await fetchTcpAggregates({ url: source.url, signal: io.signal, timeoutMs })), view, interval, duration, io.signal);
    if (failed !== undefined && !io.signal.aborted) {
      io.err.write(`maxpro: the agent at ${source.url} stopped serving TCP aggregates (${failed})\n`);
      return 1;
    }
    return 0;
  }

  const { probe, identity, close } = await openLocalTcp(io, values.kubeconfig, () => ({ policy: { failedConnects: false } }));
  const local = (): TopTcpReading => ({ aggregates: probe.aggregates(), identify: identity.identify, lost: tcpProbeLost(probe.stats()) });
  try {
    view.start({ ...local(), lost: 0 });
    const failed = await loop(local, view, interval, duration, io.signal);
    if (failed !== undefined) {
      io.err.write(`maxpro: reading the TCP aggregates: ${failed}\n`);
      return 1;
    }
    return 0;
  } finally {
    await close();
  }
}

export const topTcpCommand: Command = {
  name: 'top tcp',
  help: HELP,
  run,
};
