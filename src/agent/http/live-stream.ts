// SPDX-License-Identifier: Apache-2.0
/**
 * The live event stream: NDJSON over HTTP (`GET /stream?probe=tcp`), which
 * `maxpro trace …` attaches to instead of loading its own probes. A client
 * that reads too slowly loses events (counted per reason) rather than
 * growing the agent's memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentEvent } from '../agent-event.js';

export type StreamDropReason = 'slow_client' | 'too_many_clients';

export interface LiveStreamStats {
  clients: number;
  sent: number;
  dropped: Record<StreamDropReason, number>;
}

export interface LiveStream {
  /** Sends an event to every attached client whose filter matches. */
  publish(e: AgentEvent): void;
  /** Serves one `GET /stream` request. */
  attach(req: IncomingMessage, res: ServerResponse): void;
  clients(): number;
  stats(): LiveStreamStats;
  /** Ends every response. */
  close(): void;
}

export interface LiveStreamOptions {
  maxClients?: number;
  /** Bytes buffered per client before events are dropped. */
  clientBufferBytes?: number;
}

interface Client { res: ServerResponse; probe: string | undefined; name: string | undefined }

/** The JSON line of an event. */
export function eventToJson(e: AgentEvent): string {
  return JSON.stringify({
    time: new Date(e.timeMs).toISOString(), probe: e.probe, name: e.name, pid: e.pid, tgid: e.tgid, comm: e.comm,
    cgroupId: e.cgroupId, fields: e.fields, attributes: e.attributes(),
    labels: e.workload.labels, workload: e.workload.attributes,
  });
}

export function createLiveStream(options: LiveStreamOptions = {}): LiveStream {
  const maxClients = options.maxClients ?? 16;
  const limit = options.clientBufferBytes ?? 1 << 20;
  const clients = new Set<Client>();
  const dropped: Record<StreamDropReason, number> = { slow_client: 0, too_many_clients: 0 };
  let sent = 0;

  return {
    publish(e) {
      if (clients.size === 0) return;
      let line: string | undefined;
      for (const c of clients) {
        if (c.probe && c.probe !== e.probe) continue;
        if (c.name && !e.name.startsWith(c.name)) continue;
        if (c.res.writableLength > limit) {
          dropped.slow_client++;
          continue;
        }
        line ??= eventToJson(e) + '\n';
        c.res.write(line);
        sent++;
      }
    },
    attach(req, res) {
      if (clients.size >= maxClients) {
        dropped.too_many_clients++;
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' }).end(`too many stream clients (max ${maxClients})\n`);
        return;
      }
      const url = new URL(req.url ?? '/', 'http://agent');
      const c: Client = { res, probe: url.searchParams.get('probe') ?? undefined, name: url.searchParams.get('name') ?? undefined };
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.flushHeaders();
      clients.add(c);
      const done = (): void => { clients.delete(c); };
      req.on('close', done);
      res.on('close', done);
    },
    clients: () => clients.size,
    stats: () => ({ clients: clients.size, sent, dropped: { ...dropped } }),
    close() {
      for (const c of clients) c.res.end();
      clients.clear();
    },
  };
}
