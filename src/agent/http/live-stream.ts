// SPDX-License-Identifier: Apache-2.0
/**
 * The live event stream: NDJSON over HTTP (`GET /stream?probe=tcp&port=443`),
 * which `maxpro trace …` attaches to instead of loading its own probes.
 *
 * Subscribers see events after enrichment and redaction but before the
 * export policy: what an SRE watching a node wants is every event, not what
 * the policy chose to export (`kept=true` asks for the exported view). While
 * a subscriber wants TCP records the agent asks the kernel for them
 * (`demand(probe)`), and while one wants a probe's records the agent suspends
 * that probe's kernel cgroup filter (`wantedProbes()`), without changing
 * what is exported. A new subscriber's response starts once the agent has
 * applied that (`onDemandChange`), so an attached client misses nothing the
 * kernel would have filtered.
 *
 * Each subscriber has a bounded queue (at most `clientBufferBytes`, in
 * front of a response write buffer kept below `WRITE_WATERMARK`): a
 * subscriber that reads too slowly loses its oldest queued events, counted
 * per subscriber and in total, rather than growing the agent's memory.
 * Status lines (`{"stream":{…}}`) tell the subscriber what it lost: one on
 * attach, one as soon as it starts losing events, then one per second while
 * its drops change, else every few seconds; a status line goes out ahead of
 * the queued events. What the connection's kernel buffers already hold (MiBs
 * on loopback) still comes first, so `GET /stream/status?id=` (the id is in
 * the `x-maxpro-stream-id` response header) answers the same status at once,
 * out of band.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentEvent, AgentProbeName } from '../agent-event.js';
import { MaxproError } from '../../lib/errors.js';
import { parseRequestTarget } from '../../lib/http/request-target.js';
import { matchesStreamFilter, parseStreamFilter, streamDemandsOf, wantsProbeRecords } from './stream-filter.js';
import type { StreamFilter } from './stream-filter.js';
import { PROBE_NAMES, probeModule } from '../../probes/registry.js';

export type StreamDropReason = 'slow_client' | 'too_many_clients' | 'too_many_per_client';

export interface LiveStreamStats {
  clients: number;
  sent: number;
  /** Events waiting in the subscribers' queues. */
  queued: number;
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

/** `GET /stream/status?id=`: a subscriber's status, out of band. */
export interface LiveStreamStatusReply extends LiveStreamStatus {
  id: string;
  /** Events queued for the subscriber in the agent (not counting what the kernel's socket buffers hold). */
  queued: number;
}

export interface LiveStream {
  /**
   * Sends an enriched event to every attached subscriber whose filter
   * matches; `kept` is the export policy's decision (for `kept=true`
   * subscribers).
   */
  publish(e: AgentEvent, kept: boolean): void;
  /**
   * Serves one `GET /stream` request. `widen: false` (an unauthenticated
   * subscriber) leaves the kernel side as it is: such a subscriber sees what
   * the probes send anyway, and cannot make them send more for everyone.
   */
  attach(req: IncomingMessage, res: ServerResponse, options?: { widen?: boolean }): void;
  /** Serves one `GET /stream/status?id=` request (404 for an id no subscriber has). */
  serveStatus(params: URLSearchParams, res: ServerResponse): void;
  clients(): number;
  /** What the current subscribers need a probe's kernel side to send (its module's demand, merged); undefined for nothing. */
  demand(probe: AgentProbeName): unknown;
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
  /** Subscribers per client address at most, so one client cannot take every slot. Default half of maxClients. */
  maxClientsPerAddress?: number;
  /** Bytes buffered per client before events are dropped. */
  clientBufferBytes?: number;
  /** Whether a probe runs; a subscriber asking for one that does not is refused (409). */
  probeLoaded?(probe: AgentProbeName): boolean;
  /**
   * Called when `demand()` or `wantedProbes()` may have changed (a
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
  id: string;
  res: ServerResponse;
  /** Lines not yet handed to the response, oldest first from `head`; `queuedBytes` counts their characters. */
  queue: string[];
  head: number;
  queuedBytes: number;
  address: string;
  filter: StreamFilter;
  /** What it needs from each probe's kernel side (empty: nothing beyond the policy). */
  demands: ReadonlyMap<AgentProbeName, unknown>;
  /** Probes whose every record this subscriber may want. */
  probes: AgentProbeName[];
  sent: number;
  dropped: number;
  reportedDropped: number;
  quietTicks: number;
}

const HEARTBEAT_TICKS = 5;
/** The response's own buffer is kept below this; the rest waits in the client's queue, where the oldest can be dropped. */
const WRITE_WATERMARK = 64 * 1024;
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
  const maxPerAddress = options.maxClientsPerAddress ?? Math.max(1, Math.ceil(maxClients / 2));
  const limit = options.clientBufferBytes ?? 1 << 20;
  const period = options.statusIntervalMs ?? 1000;
  const redact = options.redact ?? ((s: string): string => s);
  const clients = new Set<Client>();
  /** Accepted, waiting for the kernel to be widened for them: they count for the demand already. */
  const pending = new Set<Client>();
  const dropped: Record<StreamDropReason, number> = { slow_client: 0, too_many_clients: 0, too_many_per_client: 0 };
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;

  const statusOf = (c: Client): LiveStreamStatus => ({ sent: c.sent, dropped: c.dropped, probeLost: options.probeLost?.() ?? {} });
  /** Written straight to the response: ahead of every queued event. */
  const status = (c: Client): void => {
    // A subscriber that reads nothing at all gets no more status lines than this holds (it can ask /stream/status).
    if (c.res.writableLength > 2 * WRITE_WATERMARK) return;
    c.res.write(`${JSON.stringify({ stream: statusOf(c) })}\n`);
    c.reportedDropped = c.dropped;
    c.quietTicks = 0;
  };
  const pump = (c: Client): void => {
    while (c.head < c.queue.length && c.res.writableLength < WRITE_WATERMARK) {
      const line = c.queue[c.head]!;
      c.queue[c.head++] = '';
      c.queuedBytes -= line.length;
      c.res.write(line);
      c.sent++;
      sent++;
    }
    if (c.head === c.queue.length) {
      c.queue = [];
      c.head = 0;
    } else if (c.head > 1024 && c.head * 2 > c.queue.length) {
      c.queue = c.queue.slice(c.head);
      c.head = 0;
    }
  };
  const enqueue = (c: Client, line: string): void => {
    if (c.head === c.queue.length && c.res.writableLength < WRITE_WATERMARK) {
      c.res.write(line);
      c.sent++;
      sent++;
      return;
    }
    c.queue.push(line);
    c.queuedBytes += line.length;
    const wasDropping = c.dropped !== c.reportedDropped;
    // Drop the oldest: what the subscriber reads next is then as recent as the queue allows.
    while (c.queuedBytes > limit && c.head < c.queue.length - 1) {
      c.queuedBytes -= c.queue[c.head]!.length;
      c.queue[c.head++] = '';
      c.dropped++;
      dropped.slow_client++;
    }
    // The first loss is reported at once; later ones at the next tick.
    if (!wasDropping && c.dropped !== c.reportedDropped) status(c);
  };
  const tick = (): void => {
    for (const c of clients) {
      if (c.dropped !== c.reportedDropped || ++c.quietTicks >= HEARTBEAT_TICKS) status(c);
    }
  };
  const demandChanged = (c: Client): Promise<void> | void => {
    if (c.demands.size || c.probes.length) return options.onDemandChange?.();
  };
  const everyone = (): Client[] => [...clients, ...pending];

  return {
    publish(e, kept) {
      if (clients.size === 0) return;
      let line: string | undefined;
      for (const c of clients) {
        if (c.filter.kept && !kept) continue;
        if (!matchesStreamFilter(e, c.filter)) continue;
        line ??= eventToJson(e, redact) + '\n';
        enqueue(c, line);
      }
    },
    attach(req, res, attachOptions) {
      const text = { 'content-type': 'text/plain; charset=utf-8' };
      if (clients.size + pending.size >= maxClients) {
        dropped.too_many_clients++;
        res.writeHead(503, { ...text, 'retry-after': '5' }).end(`too many stream clients (max ${maxClients})\n`);
        return;
      }
      const address = req.socket.remoteAddress ?? 'unknown';
      if (everyone().filter((c) => c.address === address).length >= maxPerAddress) {
        dropped.too_many_per_client++;
        res.writeHead(503, { ...text, 'retry-after': '5' }).end(`too many stream clients from ${address} (max ${maxPerAddress} per client)\n`);
        return;
      }
      const widen = attachOptions?.widen !== false;
      let filter: StreamFilter;
      try {
        filter = parseStreamFilter(parseRequestTarget(req.url)?.searchParams ?? new URLSearchParams());
      } catch (err) {
        res.writeHead(400, text).end(`${err instanceof MaxproError ? err.message : String(err)}\n`);
        return;
      }
      const wanted = filter.probe ? [filter.probe as AgentProbeName] : [];
      const missing = wanted.filter((p) => options.probeLoaded && !options.probeLoaded(p));
      if (missing.length) {
        res.writeHead(409, text).end(`probe ${missing.join(', ')} is not running in this agent\n`);
        return;
      }
      const c: Client = {
        id: randomBytes(8).toString('hex'), res, queue: [], head: 0, queuedBytes: 0, address, filter,
        demands: widen ? streamDemandsOf(filter) : new Map(), probes: widen ? PROBES.filter((p) => wantsProbeRecords(filter, p)) : [],
        sent: 0, dropped: 0, reportedDropped: 0, quietTicks: 0,
      };
      const start = (): void => {
        if (!pending.delete(c)) return; // left, or the stream closed, while waiting
        res.writeHead(200, {
          'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-maxpro-stream-id': c.id,
        });
        res.on('drain', () => pump(c));
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
    serveStatus(params, res) {
      const id = params.get('id') ?? '';
      const c = [...clients].find((x) => x.id === id);
      if (!c) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`no stream subscriber with id ${JSON.stringify(id.slice(0, 32))}\n`);
        return;
      }
      const reply: LiveStreamStatusReply = { id: c.id, ...statusOf(c), queued: c.queue.length - c.head };
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(reply)}\n`);
    },
    clients: () => clients.size,
    demand(probe) {
      const list = everyone().flatMap((c) => (c.demands.has(probe) ? [c.demands.get(probe)] : []));
      return list.length ? probeModule(probe)?.stream?.merge(list) : undefined;
    },
    wantedProbes: () => PROBES.filter((p) => everyone().some((c) => c.probes.includes(p))),
    stats: () => ({ clients: clients.size, sent, queued: [...clients].reduce((n, c) => n + c.queue.length - c.head, 0), dropped: { ...dropped } }),
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      const had = everyone();
      clients.clear();
      pending.clear();
      for (const c of had) c.res.end();
      if (had.some((c) => c.demands.size || c.probes.length)) void options.onDemandChange?.();
    },
  };
}
