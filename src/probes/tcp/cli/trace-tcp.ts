// SPDX-License-Identifier: Apache-2.0
/** `maxpro trace tcp`: a live table (or JSON lines) of TCP connections and their troubles. */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../../../cli/command.js';
import { InvalidArgumentError } from '../../../lib/errors.js';
import { matchesWorkload } from '../../../lib/workload-match.js';
import { tcpProbeLost } from '../tcp-probe.js';
import type { TcpPolicy, TcpProbeStats } from '../tcp-probe.js';
import type { TcpConnEvent, TcpEvent, TcpSignalEvent } from '../tcp-event.js';
import { openLocalTcp } from './open-local-tcp.js';
import type { WorkloadIdentity } from '../../../lib/workload-identity.js';
import { dropReasonNames, resetReasonNames } from '../kernel-reasons.js';
import { errnoName } from '../../../ebpf/index.js';
import type { LiveStreamEvent } from '../../../agent/http/live-stream-client.js';
import { createTable } from '../../../cli/output/table.js';
import { formatJsonLine } from '../../../cli/output/json-lines.js';
import { formatAgentLoss, openAgentStream, waitForStop } from '../../../cli/agent-stream.js';
import {
  EVENT_SOURCE_HELP, EVENT_SOURCE_OPTIONS, WORKLOAD_FILTER_OPTIONS, parseEventSource, parseWorkloadFilters, workloadFilterHelp,
} from '../../../cli/workload-filter-flags.js';
import type { WorkloadFilters } from '../../../cli/workload-filter-flags.js';

const HELP = `USAGE: maxpro trace tcp [flags]

Shows TCP connections as they happen: connects and accepts with their
handshake latency, closes with lifetime, bytes and RTT, failed connects with
the error, plus retransmits, resets and drops. Ctrl-C stops and prints a
summary, lost events included.

With --failed or --min-latency the kernel sends only matching connections
(cheap on a busy node); otherwise every event is streamed.

When an agent runs on the node (\`maxpro agent\`, \`maxpro up\`), the command
attaches to its live stream instead of loading the probe: the agent asks its
kernel probe for the records this command needs while it is attached,
whatever the agent's export policy keeps, and goes back to the policy's
settings when it leaves. A line on stderr says which source is used.
Attached to an agent, --pod matches the pod UID and --json leaves out
bootNs, netns and tcpFlags, which the agent does not stream.

FLAGS:
${workloadFilterHelp('events', ['comm', 'pid', 'container', 'pod', 'namespace', 'failed'], { failed: 'only failed connects' })}
  --min-latency MS     only connections whose handshake took at least MS ms
  --port PORT          only connections with PORT as local or remote port
${EVENT_SOURCE_HELP}
  --json               one JSON event per line
  --kubeconfig PATH    pod names from this cluster (default: in-cluster account)
  --duration SEC       stop after SEC seconds

EXAMPLES:
  maxpro trace tcp                          # everything, live table
  maxpro trace tcp --min-latency 100        # connects slower than 100 ms
  maxpro trace tcp --failed --namespace prod
  maxpro trace tcp --port 5432 --json | jq 'select(.type == "close")'
  maxpro trace tcp --local --failed         # load the probe here, even with an agent
`;

/** The command-line filters. */
export interface TcpFilters extends WorkloadFilters {
  minLatencyNs?: number;
  port?: number;
}

/** Whether an event passes the filters, given its workload (and its pod UID when `who` names the pod). */
export function matchesTcpFilters(e: TcpEvent, who: WorkloadIdentity, f: TcpFilters, podUid?: string): boolean {
  if (f.failed && e.type !== 'connectFailed') return false;
  if (f.minLatencyNs !== undefined) {
    if (!('handshakeNs' in e) || e.type === 'connectFailed' || e.handshakeNs < f.minLatencyNs) return false;
  }
  if (f.comm !== undefined && (!('comm' in e) || e.comm !== f.comm)) return false;
  if (f.pid !== undefined && e.tgid !== f.pid) return false;
  if (f.port !== undefined && e.sport !== f.port && e.dport !== f.port) return false;
  return matchesWorkload(who.container, who.pod, who.namespace, f, podUid);
}

const TABLE = createTable({
  columns: [
    { header: 'TIME', width: 12 },
    { header: 'EVENT', width: 8 },
    { header: 'PID', width: 7, align: 'right' },
    { header: 'COMM', width: 12 },
    { header: 'CONTAINER/POD', width: 20, truncate: 'start' },
    { header: 'LOCAL', width: 22, truncate: 'start' },
    { header: 'REMOTE', width: 22, truncate: 'start' },
    { header: 'LAT_MS', width: 8, align: 'right' },
    { header: 'LIFE_MS', width: 9, align: 'right' },
    { header: 'TX', width: 8, align: 'right' },
    { header: 'RX', width: 8, align: 'right' },
    { header: 'RTT_MS', width: 7, align: 'right' },
    { header: 'DETAIL', width: 0 },
  ],
});

const EVENT_NAMES: Record<TcpEvent['type'], string> = {
  connect: 'CONNECT', accept: 'ACCEPT', close: 'CLOSE', connectFailed: 'FAILED', retransmit: 'RETRANS',
  synackRetransmit: 'SYNACK-R', resetSent: 'RST-OUT', resetReceived: 'RST-IN', drop: 'DROP',
};

const ms = (ns: number): string => (ns / 1e6).toFixed(3);
const endpoint = (addr: string, port: number, family: number): string => (family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`);
function where(w: WorkloadIdentity): string {
  if (w.pod) return w.namespace ? `${w.namespace}/${w.pod}` : `pod:${w.pod}`;
  return w.container || '-';
}

interface Names { drop(r: number): string; reset(r: number): string }

/** The table row of one event. */
export function formatTcpRow(e: TcpEvent, w: WorkloadIdentity, names: Names, time = new Date()): string {
  const t = time.toISOString().slice(11, 23);
  if (e.type === 'connect' || e.type === 'accept' || e.type === 'close' || e.type === 'connectFailed') {
    const c: TcpConnEvent = e;
    const detail = c.type === 'connectFailed' ? (c.err ? errnoName(-c.err) : 'aborted')
      : c.type === 'close' ? `${c.oldState}${c.err ? ` ${errnoName(-c.err)}` : ''}${c.totalRetrans ? ` retrans=${c.totalRetrans}` : ''}` : '';
    return TABLE.row([
      t, EVENT_NAMES[c.type], c.tgid || '', c.comm, where(w), endpoint(c.saddr, c.sport, c.family), endpoint(c.daddr, c.dport, c.family),
      c.type === 'connectFailed' ? '' : ms(c.handshakeNs), c.type === 'close' ? ms(c.lifetimeNs) : '',
      c.type === 'close' ? c.bytesAcked : '', c.type === 'close' ? c.bytesReceived : '', c.type === 'close' ? (c.srttUs / 1000).toFixed(3) : '',
      detail,
    ]);
  }
  const s = e as TcpSignalEvent;
  const detail = s.type === 'drop' ? names.drop(s.reason) : s.type === 'resetSent' ? names.reset(s.reason) : s.state;
  const local = s.family ? endpoint(s.saddr, s.sport, s.family) : '';
  const remote = s.family ? endpoint(s.daddr, s.dport, s.family) : '';
  return TABLE.row([t, EVENT_NAMES[s.type], s.tgid || '', '', where(w), local, remote, '', '', '', '', '', detail]);
}

function numberFlag(name: string, v: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`--${name}: ${v} is not a number in 0..${max}`);
  return n;
}

/** The kernel policy the filters allow: narrow filters need no full stream. */
export function policyFor(f: TcpFilters): TcpPolicy {
  if (f.failed) return { failedConnects: true };
  if (f.minLatencyNs !== undefined && f.minLatencyNs > 0) return { minHandshakeMs: f.minLatencyNs / 1e6, failedConnects: false };
  return { stream: true };
}

function summary(shown: number, filtered: number, s: TcpProbeStats): string {
  const k = s.kernelDrops;
  const lost = tcpProbeLost(s);
  return `\n${shown} events shown, ${filtered} filtered out, ${s.records} received\n` +
    `lost: ${lost} (ringbuf_full ${k.ringbuf_full}, output_failed ${k.output_failed}, helper_failed ${k.helper_failed}, ` +
    `map_full ${k.map_full}, bpf_recursion ${k.bpf_recursion}, reader ${s.readerDrops}, undecodable ${s.undecodable})\n`;
}

const AGENT_TYPES: Record<string, TcpEvent['type']> = {
  'tcp.connect': 'connect', 'tcp.accept': 'accept', 'tcp.close': 'close', 'tcp.connect_failed': 'connectFailed',
  'tcp.retransmit': 'retransmit', 'tcp.synack_retransmit': 'synackRetransmit', 'tcp.reset_sent': 'resetSent',
  'tcp.reset_received': 'resetReceived', 'tcp.drop': 'drop',
};

/** Event fields the agent does not stream: left out of --json when attached. */
const NOT_FROM_AGENT = ['bootNs', 'netns', 'tcpFlags'] as const;
/** Streamed as `tcp.old_state` and `tcp.rttvar_us` by agents that have them: left out when an older one did not. */
const NEWER_FROM_AGENT = ['oldState', 'rttvarUs'] as const;

/** A TCP event of the agent's live stream as a probe event and its workload; undefined for other events. */
export function tcpEventFromAgent(e: LiveStreamEvent): { event: TcpEvent; who: WorkloadIdentity; podUid?: string; time: Date } | undefined {
  const type = AGENT_TYPES[e.name];
  if (!type) return undefined;
  const a = e.attributes, f = e.fields;
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const saddr = str(a['source.address']), daddr = str(a['destination.address']);
  const family = a['network.type'] === 'ipv6' ? 6 : 4;
  const common = {
    bootNs: 0n, cgroupId: BigInt(e.cgroupId), tgid: e.tgid, pid: e.pid, netns: 0,
    saddr, sport: num(a['source.port']), daddr, dport: num(a['destination.port']),
  };
  const w = e.workload;
  const who: WorkloadIdentity = { container: w.container ?? '', pod: w.podName ?? w.pod ?? '', namespace: w.namespace ?? '', cgroupPath: w.cgroup ?? '' };
  const time = new Date(e.time);
  if (type === 'connect' || type === 'accept' || type === 'close' || type === 'connectFailed') {
    const event: TcpConnEvent = {
      ...common, type, family, comm: e.comm,
      handshakeNs: num(f['tcp.connect.latency']), lifetimeNs: num(f['tcp.lifetime']),
      bytesAcked: num(f['tcp.bytes.sent']), bytesReceived: num(f['tcp.bytes.received']),
      segsOut: num(a['tcp.segs_out']), segsIn: num(a['tcp.segs_in']), srttUs: num(f['tcp.rtt']) / 1000, rttvarUs: num(a['tcp.rttvar_us']),
      totalRetrans: num(f['tcp.retransmits']), err: num(a['tcp.error']), dir: a['tcp.direction'] === 'server' ? 'server' : 'client',
      oldState: str(a['tcp.old_state']),
    };
    return { event, who, podUid: w.pod, time };
  }
  const event: TcpSignalEvent = {
    ...common, type, family: saddr || daddr ? family : 0, reason: num(a['tcp.reason']), state: str(a['tcp.state']), tcpFlags: 0,
  };
  return { event, who, podUid: w.pod, time };
}

/** The --json line of an event. */
export function formatTcpJson(e: TcpEvent, who: WorkloadIdentity, time: Date, fromAgent: boolean): string {
  const o: Record<string, unknown> = { ...e, ...who, time: time.toISOString() };
  if (fromAgent) {
    for (const k of NOT_FROM_AGENT) delete o[k];
    // Connection events always have an old state: an empty one means the agent streams neither.
    if (o.oldState === '') for (const k of NEWER_FROM_AGENT) delete o[k];
  }
  return formatJsonLine(o);
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...WORKLOAD_FILTER_OPTIONS, ...EVENT_SOURCE_OPTIONS, 'min-latency': { type: 'string' }, 'port': { type: 'string' },
      'json': { type: 'boolean' }, 'kubeconfig': { type: 'string' }, 'duration': { type: 'string' },
    },
  });
  const f: TcpFilters = parseWorkloadFilters(values);
  const minLat = numberFlag('min-latency', values['min-latency']);
  if (minLat !== undefined) f.minLatencyNs = minLat * 1e6;
  const port = numberFlag('port', values.port, 65535);
  if (port !== undefined) {
    if (!Number.isInteger(port)) throw new InvalidArgumentError(`--port: ${values.port} is not a port number`);
    f.port = port;
  }
  const source = parseEventSource(values);
  const duration = numberFlag('duration', values.duration);
  const json = values.json ?? false;

  const drops = dropReasonNames();
  const rsts = resetReasonNames();
  const names: Names = { drop: (r) => drops.name(r), reset: (r) => rsts.name(r) };
  let shown = 0;
  let filtered = 0;
  let received = 0;
  let pending = '';
  const show = (e: TcpEvent, who: WorkloadIdentity, time: Date, fromAgent: boolean, podUid?: string): void => {
    if (!matchesTcpFilters(e, who, f, podUid)) {
      filtered++;
      return;
    }
    shown++;
    pending += json ? formatTcpJson(e, who, time, fromAgent) : `${formatTcpRow(e, who, names, time)}\n`;
  };
  const flush = setInterval(() => {
    if (pending) {
      io.out.write(pending);
      pending = '';
    }
  }, 100);
  try {
    if (!json) io.out.write(`${TABLE.header()}\n`);

    // The agent's events, when one answers.
    const agent = await openAgentStream({
      source, err: io.err, signal: io.signal,
      filter: { probe: 'tcp', ...f },
      onEvent: (e) => {
        const t = tcpEventFromAgent(e);
        if (!t) return;
        received++;
        show(t.event, t.who, t.time, true, t.podUid);
      },
    });
    if (agent) {
      if (values.kubeconfig !== undefined) io.err.write('maxpro: --kubeconfig: not applied to the agent\'s events (use --local)\n');
      const ended = await waitForStop(io.signal, duration, agent.subscription.done);
      agent.subscription.close();
      await agent.subscription.done;
      clearInterval(flush);
      if (pending) io.out.write(pending);
      (json ? io.err : io.out).write(`\n${shown} events shown, ${filtered} filtered out, ${received} received from the agent at ${agent.subscription.url}\n` +
        formatAgentLoss('tcp', agent.status()));
      if (ended?.by === 'agent') {
        io.err.write(`maxpro: the agent at ${agent.subscription.url} ended the stream${ended.error ? ` (${ended.error})` : ''}\n`);
        return 1;
      }
      return 0;
    }

    const local = await openLocalTcp(io, values.kubeconfig, (identity) => ({
      policy: policyFor(f),
      onEvent: (e) => show(e, identity.identify(e.cgroupId), new Date(), false),
    }));
    await waitForStop(io.signal, duration);
    await local.close();
    clearInterval(flush);
    if (pending) io.out.write(pending);
    (json ? io.err : io.out).write(summary(shown, filtered, local.probe.stats()));
    return 0;
  } finally {
    clearInterval(flush);
  }
}

export const traceTcpCommand: Command = {
  name: 'trace tcp',
  help: HELP,
  run,
};
