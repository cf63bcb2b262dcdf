// SPDX-License-Identifier: Apache-2.0
/**
 * A cap on a server's open connections, in total and per client address,
 * that keeps it answering: at the cap, the connection idle the longest (no
 * request in progress: keep-alive or still sending its headers) is closed to
 * make room; only when every connection is busy is the new one refused, with
 * a 503. Idle connections therefore cannot starve `/metrics` or `/healthz`.
 * Every eviction and refusal is counted by reason.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export type ConnectionRefusal = 'evicted_idle' | 'too_many_connections' | 'too_many_per_client';

export interface ConnectionLimitsOptions {
  maxConnections: number;
  maxPerClient: number;
  count(reason: ConnectionRefusal): void;
}

export interface ConnectionLimits {
  /** Connections open now. */
  open(): number;
}

interface Conn {
  client: string;
  /** Requests in progress. */
  active: number;
}

const REFUSAL = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 25\r\n\r\ntoo many open connections';

/**
 * `preferred`, or half of this process's open-file limit when that is lower:
 * a cap above the file limit would never be reached, and accept() would fail
 * (EMFILE) for everyone instead.
 */
export function capToFileLimit(preferred: number): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(8, Math.min(preferred, Math.floor(Number(m[1]) / 2)));
  } catch {
    // No /proc: the preferred value.
  }
  return preferred;
}

/** Applies the limits to `server` (HTTP or HTTPS). */
export function limitConnections(server: Server, options: ConnectionLimitsOptions): ConnectionLimits {
  // Insertion order is age order: the first idle entry is the oldest idle one.
  const conns = new Map<Socket, Conn>();
  const perClient = new Map<string, number>();

  const evictIdle = (match: (c: Conn) => boolean): boolean => {
    for (const [socket, c] of conns) {
      if (c.active === 0 && match(c)) {
        forget(socket);
        socket.destroy();
        options.count('evicted_idle');
        return true;
      }
    }
    return false;
  };
  const forget = (socket: Socket): void => {
    const c = conns.get(socket);
    if (!c) return;
    conns.delete(socket);
    const n = (perClient.get(c.client) ?? 1) - 1;
    if (n <= 0) perClient.delete(c.client);
    else perClient.set(c.client, n);
  };
  const refuse = (socket: Socket, reason: ConnectionRefusal): void => {
    options.count(reason);
    socket.on('error', () => undefined);
    socket.end(REFUSAL);
    socket.once('finish', () => socket.destroy());
  };

  // TLS servers hand the HTTP layer a TLSSocket on 'secureConnection'; the raw socket's 'connection' is what counts.
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? 'unknown';
    if ((perClient.get(client) ?? 0) >= options.maxPerClient && !evictIdle((c) => c.client === client)) {
      refuse(socket, 'too_many_per_client');
      return;
    }
    if (conns.size >= options.maxConnections && !evictIdle(() => true)) {
      refuse(socket, 'too_many_connections');
      return;
    }
    conns.set(socket, { client, active: 0 });
    perClient.set(client, (perClient.get(client) ?? 0) + 1);
    socket.once('close', () => forget(socket));
  });
  server.on('request', (req, res) => {
    const raw = rawSocket(req.socket);
    const c = raw ? conns.get(raw) : undefined;
    if (!c) return;
    c.active++;
    // Busy again: move to the young end, so the oldest-idle search skips it.
    conns.delete(raw!);
    conns.set(raw!, c);
    res.once('close', () => { c.active--; });
  });
  return { open: () => conns.size };
}

/** The TCP socket under a (TLS) socket. */
function rawSocket(s: Socket): Socket | undefined {
  return (s as Socket & { _parent?: Socket })._parent ?? s;
}
