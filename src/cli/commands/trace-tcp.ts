// SPDX-License-Identifier: Apache-2.0
/** `maxpro trace tcp`: a live table (or JSON lines) of TCP connections and their troubles. */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../command.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { createTcpProbe } from '../../probes/tcp/tcp-probe.js';
import type { TcpPolicy, TcpProbeStats } from '../../probes/tcp/tcp-probe.js';
import type { TcpConnEvent, TcpEvent, TcpSignalEvent } from '../../probes/tcp/tcp-event.js';
import { createTcpIdentity } from '../../probes/tcp/tcp-identity.js';
import type { WorkloadIdentity } from '../../probes/tcp/tcp-identity.js';
import { dropReasonNames, resetReasonNames } from '../../probes/tcp/kernel-reasons.js';
import { errnoName } from '../../ebpf/index.js';
import { createTable } from '../output/table.js';
import { formatJsonLine } from '../output/json-lines.js';

const HELP = `USAGE: maxpro trace tcp [flags]

Shows TCP connections as they happen: connects and accepts with their
handshake latency, closes with lifetime, bytes and RTT, failed connects with
the error, plus retransmits, resets and drops. Ctrl-C stops and prints a
summary, lost events included.

With --failed or --min-latency the kernel sends only matching connections
(cheap on a busy node); otherwise every event is streamed.

FLAGS:
  --comm NAME          only events of processes named NAME
  --pid PID            only events of process PID
  --container ID       only containers whose id starts with ID
  --pod NAME           only pods with this name (or pod UID)
  --namespace NS       only pods of this Kubernetes namespace
  --failed             only failed connects
  --min-latency MS     only connections whose handshake took at least MS ms
  --port PORT          only connections with PORT as local or remote port
  --json               one JSON event per line
  --kubeconfig PATH    pod names from this cluster (default: in-cluster account)
  --duration SEC       stop after SEC seconds

EXAMPLES:
  maxpro trace tcp                          # everything, live table
  maxpro trace tcp --min-latency 100        # connects slower than 100 ms
  maxpro trace tcp --failed --namespace prod
  maxpro trace tcp --port 5432 --json | jq 'select(.type == "close")'
`;

/** The command-line filters. */
export interface TcpFilters {
  comm?: string;
  pid?: number;
  container?: string;
  pod?: string;
  namespace?: string;
  failed: boolean;
  minLatencyNs?: number;
  port?: number;
}

/** Whether an event passes the filters, given its workload. */
export function matchesTcpFilters(e: TcpEvent, who: WorkloadIdentity, f: TcpFilters): boolean {
  if (f.failed && e.type !== 'connectFailed') return false;
  if (f.minLatencyNs !== undefined) {
    if (!('handshakeNs' in e) || e.type === 'connectFailed' || e.handshakeNs < f.minLatencyNs) return false;
  }
  if (f.comm !== undefined && (!('comm' in e) || e.comm !== f.comm)) return false;
  if (f.pid !== undefined && e.tgid !== f.pid) return false;
  if (f.port !== undefined && e.sport !== f.port && e.dport !== f.port) return false;
  if (f.container !== undefined && !who.container.startsWith(f.container)) return false;
  if (f.pod !== undefined && who.pod !== f.pod) return false;
  if (f.namespace !== undefined && who.namespace !== f.namespace) return false;
  return true;
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
  const lost = Object.values(k).reduce((a, b) => a + Number(b), 0) + s.readerDrops;
  return `\n${shown} events shown, ${filtered} filtered out, ${s.records} received\n` +
    `lost: ${lost} (ringbuf_full ${k.ringbuf_full}, output_failed ${k.output_failed}, helper_failed ${k.helper_failed}, ` +
    `map_full ${k.map_full}, reader ${s.readerDrops}, undecodable ${s.undecodable})\n`;
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'comm': { type: 'string' }, 'pid': { type: 'string' }, 'container': { type: 'string' }, 'pod': { type: 'string' },
      'namespace': { type: 'string' }, 'failed': { type: 'boolean' }, 'min-latency': { type: 'string' }, 'port': { type: 'string' },
      'json': { type: 'boolean' }, 'kubeconfig': { type: 'string' }, 'duration': { type: 'string' },
    },
  });
  const f: TcpFilters = { failed: values.failed ?? false };
  if (values.comm !== undefined) f.comm = values.comm;
  const pid = numberFlag('pid', values.pid);
  if (pid !== undefined) f.pid = pid;
  if (values.container !== undefined) f.container = values.container;
  if (values.pod !== undefined) f.pod = values.pod;
  if (values.namespace !== undefined) f.namespace = values.namespace;
  const minLat = numberFlag('min-latency', values['min-latency']);
  if (minLat !== undefined) f.minLatencyNs = minLat * 1e6;
  const port = numberFlag('port', values.port, 65535);
  if (port !== undefined) f.port = port;
  const duration = numberFlag('duration', values.duration);
  const json = values.json ?? false;

  const identity = await createTcpIdentity({
    kubernetes: values.kubeconfig ? { kubeconfig: values.kubeconfig } : {},
    onNotice: (m) => io.err.write(`maxpro: ${m}\n`),
  });
  const drops = dropReasonNames();
  const rsts = resetReasonNames();
  const names: Names = { drop: (r) => drops.name(r), reset: (r) => rsts.name(r) };
  let shown = 0;
  let filtered = 0;
  let pending = '';
  if (!json) io.out.write(`${TABLE.header()}\n`);
  const probe = createTcpProbe({
    policy: policyFor(f),
    onEvent: (e) => {
      const who = identity.identify(e.cgroupId);
      if (!matchesTcpFilters(e, who, f)) {
        filtered++;
        return;
      }
      shown++;
      pending += json ? formatJsonLine({ ...e, ...who, time: new Date().toISOString() }) : `${formatTcpRow(e, who, names)}\n`;
    },
  });
  const flush = setInterval(() => {
    if (pending) {
      io.out.write(pending);
      pending = '';
    }
  }, 100);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    const timer = duration !== undefined ? setTimeout(resolve, duration * 1000) : undefined;
    io.signal.addEventListener('abort', () => {
      if (timer) clearTimeout(timer);
      resolve();
    }, { once: true });
  });
  await probe.close();
  clearInterval(flush);
  if (pending) io.out.write(pending);
  await identity.close();
  (json ? io.err : io.out).write(summary(shown, filtered, probe.stats()));
  return 0;
}

export const traceTcpCommand: Command = {
  name: 'trace tcp',
  summary: 'live table of TCP connects, accepts, closes, retransmits, resets and drops',
  help: HELP,
  run,
};
