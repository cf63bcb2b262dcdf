// SPDX-License-Identifier: Apache-2.0
/**
 * `GET /tcp/aggregates`: a snapshot of the TCP probe's in-kernel aggregates
 * (cumulative counters and histograms per cgroup, direction and port class,
 * each with the agent's workload identity), so that `maxpro top tcp` can
 * read them instead of loading a second TCP probe. Built on each request
 * from the kernel map, which bounds it; nothing is cached here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TcpAggregate } from './tcp-aggregates.js';
import { encodeTcpAggregates } from './tcp-aggregates-json.js';
import type { WorkloadIdentity } from '../../lib/workload-identity.js';

/** What the agent's TCP probe holds now, or why it holds nothing. */
export type TcpAggregatesReading =
  | { aggregates: TcpAggregate[]; lost: number }
  | { unavailable: string };

export interface TcpAggregatesRouteOptions {
  /** Reads the aggregates (cumulative, as the probe's metrics see them). */
  read(): TcpAggregatesReading;
  /** The workload of a cgroup id. */
  identity(cgroupId: number): WorkloadIdentity;
  /** Most aggregates in one response; the rest are left out and `truncated` is set. Default 65536. */
  maxAggregates?: number;
}

export interface TcpAggregatesRoute {
  handle(req: IncomingMessage, res: ServerResponse): void;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Creates the handler. Read errors propagate to the server (a 500). */
export function createTcpAggregatesRoute(options: TcpAggregatesRouteOptions): TcpAggregatesRoute {
  const max = options.maxAggregates ?? 65536;
  return {
    handle(req, res) {
      const r = options.read();
      if ('unavailable' in r) {
        res.writeHead(404, { 'content-type': JSON_TYPE });
        res.end(req.method === 'HEAD' ? undefined : `${JSON.stringify({ error: `no TCP aggregates: ${r.unavailable}`, code: 'MAXPRO_ERR_NOT_FOUND' })}\n`);
        return;
      }
      const kept = r.aggregates.length > max ? r.aggregates.slice(0, max) : r.aggregates;
      const body = JSON.stringify(encodeTcpAggregates({
        time: new Date().toISOString(), lost: r.lost, truncated: kept.length < r.aggregates.length,
        aggregates: kept.map((a) => ({ aggregate: a, workload: options.identity(Number(a.cgroupId)) })),
      }));
      res.writeHead(200, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}
