// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a running agent's TCP aggregates (`GET /tcp/aggregates`), so that
 * `maxpro top tcp` can show them without loading a TCP probe of its own.
 */
import { InvalidArgumentError, NotFoundError } from '../../../lib/errors.js';
import { decodeTcpAggregates } from '../tcp-aggregates-json.js';
import type { TcpAggregatesSnapshot } from '../tcp-aggregates-json.js';
import { agentRequest, authHint } from '../../../agent/http/agent-request.js';

export interface TcpAggregatesClientOptions {
  /** The agent's base URL, e.g. http://127.0.0.1:9464. */
  url: string;
  signal?: AbortSignal;
  /** How long to wait for the whole answer. Default 1000 ms, as for the live stream. */
  timeoutMs?: number;
  /** Bearer token; default: this node's agent token (see local-endpoints.ts). */
  token?: string;
}

/**
 * Fetches and decodes one snapshot. Rejects with `NotFoundError` when no
 * agent answers within `timeoutMs` or it refuses (404: no TCP probe there;
 * the message names the URL and the agent's reason), and with
 * `InvalidArgumentError` when the body is malformed (see tcp-aggregates-json.ts).
 */
export async function fetchTcpAggregates(options: TcpAggregatesClientOptions): Promise<TcpAggregatesSnapshot> {
  const r = await agentRequest({
    agentUrl: options.url,
    url: new URL('/tcp/aggregates', options.url),
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 1000,
    until: 'body',
    headers: { accept: 'application/json' },
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  const { res, text = '' } = r;
  const status = res.status;
  if (status !== 200) {
    let why = text.trim();
    try {
      const e = JSON.parse(why) as { error?: unknown };
      if (typeof e.error === 'string') why = e.error;
    } catch { /* not JSON: an agent without this route answers plain text */ }
    throw new NotFoundError(`agent at ${options.url} refused the TCP aggregates: HTTP ${status}${why ? ` ${why}` : ''}${authHint(status, r)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`tcp aggregates JSON: body from ${options.url}: not JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  return decodeTcpAggregates(body);
}
