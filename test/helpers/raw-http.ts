// SPDX-License-Identifier: Apache-2.0
/** Sends bytes a real client library would refuse to send, and reads the raw answer. */
import { connect } from 'node:net';

export interface RawAnswer {
  /** The status code of the first response line; 0 when the server closed without one. */
  status: number;
  text: string;
  /** The server closed the connection before the timeout (the answer is whole). */
  closed: boolean;
}

/**
 * Writes `request` (a full HTTP/1.1 request, `Connection: close` advised)
 * to the server at `base` and resolves with what came back once the server
 * closes, or after `timeoutMs` (status 0 then means no answer at all).
 */
export function rawRequest(base: string, request: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname.replace(/^\[|\]$/g, ''));
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    const onClose = (): void => { closed = true; finish(); };
    sock.on('connect', () => sock.write(request));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', onClose);
    sock.on('end', onClose);
    sock.on('close', onClose);
  });
}

/** A request line plus headers, with `Connection: close`. */
export function requestText(method: string, target: string, headers: Record<string, string> = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: test', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
