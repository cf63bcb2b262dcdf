// SPDX-License-Identifier: Apache-2.0
/**
 * CONNECT and protocol upgrades (including the HTTP/2 `PRI` preface) bypass
 * a Node server's request handler: without listeners the client is left
 * without an answer. Neither server tunnels or upgrades, so both are
 * answered and the connection closed.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Answers CONNECT with 405 and upgrade requests with 400, counting each with `count(reason)`. */
export function refuseTunnels(server: Server, count: (reason: 'method_not_allowed' | 'upgrade_refused') => void): void {
  const answer = (socket: Duplex, status: string, text: string): void => {
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
    socket.once('finish', () => socket.destroy());
  };
  server.on('connect', (_req, socket: Duplex) => {
    count('method_not_allowed');
    answer(socket, '405 Method Not Allowed', 'CONNECT not allowed\n');
  });
  server.on('upgrade', (_req, socket: Duplex) => {
    count('upgrade_refused');
    answer(socket, '400 Bad Request', 'protocol upgrades are not supported\n');
  });
}
