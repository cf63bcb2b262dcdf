// SPDX-License-Identifier: Apache-2.0
/**
 * The live event stream: NDJSON over HTTP (`GET /stream?probe=tcp&port=443`),
 * which `maxpro trace …` attaches to instead of loading its own probes.
 *
 * Subscribers see events after enrichment and redaction but before the
 * export policy: what an SRE watching a node wants is every event, not what
 * the policy chose to export (`kept=true` asks for the exported view). While
 * a subscriber wants TCP records the agent asks the kernel for them
 * (`tcpDemand()`), and while one wants a probe's records the agent suspends
 * that probe's kernel cgroup filter (`wantedProbes()`), without changing
 * what is exported. A new subscriber's response starts once the agent has
 * applied that (`onDemandChange`), so an attached client misses nothing the
 * kernel would have filtered.
 *
 * Each subscriber has a bounded queue (the response's write buffer, at most
 * `clientBufferBytes`): a subscriber that reads too slowly loses events,
 * counted per subscriber and in total, rather than growing the agent's
 * memory. Status lines (`{"stream":{…}}`) interleaved with the events tell
 * the subscriber what it lost: one on attach, then one per second while its
 * drops change, else every few seconds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentEvent, AgentProbeName } from '../agent-event.js';
import { MaxproError } from '../../lib/errors.js';
import { parseRequestTarget } from '../../lib/http/request-target.js';
import { matchesStreamFilter, parseStreamFilter, tcpDemandOf, wantsProbeRecords } from './stream-filter.js';
import type { StreamFilter } from './stream-filter.js';
import { mergeTcpDemands } from '../../probes/tcp/tcp-demand.js';
import type { TcpDemand } from '../../probes/tcp/tcp-demand.js';
import { PROBE_NAMES } from '../../probes/registry.js';

export type StreamDropReason = 'slow_client' | 'too_many_clients';

export interface LiveStreamStats {
  clients: number;
  sent: number;
  dropped: Record<StreamDropReason, number>;
}

/** The body of a status line, as the subscriber receives it. */
export interface LiveStreamStatus {
  /** Events sent to this subscriber. */
  sent: number;
  /** Events this subscriber lost because it read too slowly. */
  dropped: number;
  /** Events each of the agent's probes lost so far (cumulative since the probe loaded). */
  probeLost: Record<string, number>;
}

export interface LiveStream {
  /**
   * Sends an enriched event to every attached subscriber whose filter
   * matches; `kept` is the export policy's decision (for `kept=true`
   * subscribers).
   */
  publish(e: AgentEvent, kept: boolean): void;
  /** Serves one `GET /stream` request. */
  attach(req: IncomingMessage, res: ServerResponse): void;
  clients(): number;
  /** What the current subscribers need the TCP probe to send; undefined for nothing. */
  tcpDemand(): TcpDemand | undefined;
  /**
   * Probes some current subscriber wants records of beyond what the export
   * policy keeps (see `wantsProbeRecords`): their kernel cgroup filters must
   * let everything through.
   */
  wantedProbes(): AgentProbeName[];
  stats(): LiveStreamStats;
  /** Ends every response. */
  close(): void;
}

export interface LiveStreamOptions {
  maxClients?: number;
  /** Bytes buffered per client before events are dropped. */
  clientBufferBytes?: number;
  /** Whether a probe runs; a subscriber asking for one that does not is refused (409). */
  probeLoaded?(probe: AgentProbeName): boolean;
  /**
   * Called when `tcpDemand()` or `wantedProbes()` may have changed (a
   * subscriber came or left). A returned promise holds back a new
   * subscriber's response until it settles: the kernel is widened first.
   */
  onDemandChange?(): Promise<void> | void;
  /** Events lost per probe, for the status lines. */
  probeLost?(): Record<string, number>;
  /** Redacts the comm (attributes are redacted by the sources). */
  redact?(s: string): string;
  /** Status period, ms. Default 1000; a status goes out every 5th period even without news. */
  statusIntervalMs?: number;
}

interface Client {
  res: ServerResponse;
  filter: StreamFilter;
  demand: TcpDemand | undefined;
  /** Probes whose every record this subscriber may want. */
  probes: AgentProbeName[];
  sent: number;
  dropped: number;
  reportedDropped: number;
  quietTicks: number;
}

const HEARTBEAT_TICKS = 5;
const PROBES: readonly AgentProbeName[] = PROBE_NAMES;

/** The JSON line of an event. */
export function eventToJson(e: AgentEvent, redact: (s: string) => string = (s) => s): string {
  // `exe` and `comm` are dropped from the workload: exe is the raw path (outputs carry the redacted
  // `process.executable.path` attribute), comm is a top-level field.
  const { exe: _exe, comm: _comm, ...workload } = e.workload.attributes;
  const args = e.commandArgs?.();
  return JSON.stringify({
    time: new Date(e.timeMs).toISOString(), probe: e.probe, name: e.name, pid: e.pid, tgid: e.tgid, comm: redact(e.comm),
    cgroupId: e.cgroupId, fields: e.fields, attributes: e.attributes(), ...(args ? { args } : {}), ...(e.record ? { record: e.record } : {}),
    labels: e.workload.labels, workload: e.workload.podName ? { ...workload, podName: e.workload.podName } : workload,
  });
}

export function createLiveStream(options: LiveStreamOptions = {}): LiveStream {
  const maxClients = options.maxClients ?? 16;
  const limit = options.clientBufferBytes ?? 1 << 20;
  const period = options.statusIntervalMs ?? 1000;
  const redact = options.redact ?? ((s: string): string => s);
  const clients = new Set<Client>();
  /** Accepted, waiting for the kernel to be widened for them: they count for the demand already. */
  const pending = new Set<Client>();
  const dropped: Record<StreamDropReason, number> = { slow_client: 0, too_many_clients: 0 };
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;

  const status = (c: Client): void => {
    if (c.res.writableLength > limit) return; // the next tick tries again
    const s: LiveStreamStatus = { sent: c.sent, dropped: c.dropped, probeLost: options.probeLost?.() ?? {} };
    c.res.write(`${JSON.stringify({ stream: s })}\n`);
    c.reportedDropped = c.dropped;
    c.quietTicks = 0;
  };
  const tick = (): void => {
    for (const c of clients) {
      if (c.dropped !== c.reportedDropped || ++c.quietTicks >= HEARTBEAT_TICKS) status(c);
    }
  };
  const demandChanged = (c: Client): Promise<void> | void => {
    if (c.demand || c.probes.length) return options.onDemandChange?.();
  };
  const everyone = (): Client[] => [...clients, ...pending];

  return {
    publish(e, kept) {
      if (clients.size === 0) return;
      let line: string | undefined;
      for (const c of clients) {
        if (c.filter.kept && !kept) continue;
        if (!matchesStreamFilter(e, c.filter)) continue;
        if (c.res.writableLength > limit) {
          c.dropped++;
          dropped.slow_client++;
          continue;
        }
        line ??= eventToJson(e, redact) + '\n';
        c.res.write(line);
        c.sent++;
        sent++;
      }
    },
    attach(req, res) {
      const text = { 'content-type': 'text/plain; charset=utf-8' };
      if (clients.size + pending.size >= maxClients) {
        dropped.too_many_clients++;
        res.writeHead(503, { ...text, 'retry-after': '5' }).end(`too many stream clients (max ${maxClients})\n`);
        return;
      }
      let filter: StreamFilter;
      try {
        filter = parseStreamFilter(parseRequestTarget(req.url)?.searchParams ?? new URLSearchParams());
      } catch (err) {
        res.writeHead(400, text).end(`${err instanceof MaxproError ? err.message : String(err)}\n`);
        return;
      }
      const wanted = filter.probe ? [filter.probe] : [];
      const missing = wanted.filter((p) => options.probeLoaded && !options.probeLoaded(p));
      if (missing.length) {
        res.writeHead(409, text).end(`probe ${missing.join(', ')} is not running in this agent\n`);
        return;
      }
      const c: Client = {
        res, filter, demand: tcpDemandOf(filter), probes: PROBES.filter((p) => wantsProbeRecords(filter, p)),
        sent: 0, dropped: 0, reportedDropped: 0, quietTicks: 0,
      };
      const start = (): void => {
        if (!pending.delete(c)) return; // left, or the stream closed, while waiting
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        clients.add(c);
        status(c);
        if (!timer) {
          timer = setInterval(tick, period);
          timer.unref();
        }
      };
      const done = (): void => {
        if (!clients.delete(c) && !pending.delete(c)) return;
        if (clients.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
        void demandChanged(c);
      };
      req.on('close', done);
      res.on('close', done);
      pending.add(c);
      const widened = demandChanged(c);
      if (widened) void widened.then(start, start);
      else start();
    },
    clients: () => clients.size,
    tcpDemand: () => mergeTcpDemands(everyone().flatMap((c) => (c.demand ? [c.demand] : []))),
    wantedProbes: () => PROBES.filter((p) => everyone().some((c) => c.probes.includes(p))),
    stats: () => ({ clients: clients.size, sent, dropped: { ...dropped } }),
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      const had = everyone();
      clients.clear();
      pending.clear();
      for (const c of had) c.res.end();
      if (had.some((c) => c.demand || c.probes.length)) void options.onDemandChange?.();
    },
  };
}
