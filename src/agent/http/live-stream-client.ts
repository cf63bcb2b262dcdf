// SPDX-License-Identifier: Apache-2.0
/**
 * Attaches to a running agent's live stream (`GET /stream`, NDJSON), so that
 * `maxpro trace …` can show the agent's events without loading probes of its
 * own. Events arrive enriched and redacted, and, unless the filter asks for
 * `kept`, whether or not the agent's policy exports them.
 */
import { NotFoundError } from '../../lib/errors.js';
import { localServiceUrl } from '../../lib/http/local-endpoints.js';
import { agentRequest, authHint } from './agent-request.js';
import type { LiveStreamStatus } from './live-stream.js';
import { streamFilterParams } from './stream-filter.js';
import type { StreamFilter } from './stream-filter.js';

/** One event line of the stream. */
export interface LiveStreamEvent {
  time: string;
  probe: string;
  name: string;
  pid: number;
  tgid: number;
  comm: string;
  cgroupId: number;
  fields: Record<string, number>;
  attributes: Record<string, unknown>;
  /** The redacted argv of an exec. */
  args?: string[];
  /** The event's schema record, for probes that have one (process events: a ProcessRecord). */
  record?: Record<string, unknown>;
  labels: Record<string, string>;
  workload: Record<string, string>;
}

export interface LiveStreamClientOptions {
  /** The agent's base URL, e.g. http://127.0.0.1:9464. */
  url: string;
  /** Server-side filters (query parameters). */
  filter?: StreamFilter;
  onEvent(e: LiveStreamEvent): void;
  /** The agent's status lines: what this subscription sent and lost. */
  onStatus?(s: LiveStreamStatus): void;
  signal?: AbortSignal;
  /** How long to wait for the agent to answer. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Bearer token; default: this node's agent token (see local-endpoints.ts). */
  token?: string;
}

/** How a subscription ended. */
export interface LiveStreamEnd {
  /** Events received. */
  events: number;
  /** `client`: the signal aborted or `close()` was called; `agent`: the agent ended it or the connection broke. */
  by: 'client' | 'agent';
  /** What broke, when the connection failed rather than ended. */
  error?: string;
}

export interface LiveStreamSubscription {
  readonly url: string;
  /** The agent's id for this subscription (`GET /stream/status?id=`), when it sent one. */
  readonly id?: string;
  /** Resolves when the stream ends; never rejects. */
  readonly done: Promise<LiveStreamEnd>;
  close(): void;
}

/** The default agent address: MAXPRO_AGENT_URL, else the one a running `maxpro agent`/`up` recorded, else the default listen address. */
export function defaultAgentUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return localServiceUrl('agent', env);
}

/**
 * Opens a subscription: resolves once the agent accepted it (HTTP 200), then
 * streams in the background until the signal aborts, `close()` is called
 * or the agent ends the stream. Rejects with `NotFoundError` when no agent
 * answers within `connectTimeoutMs`, or when the agent refuses (503: too
 * many clients, 409: the probe does not run there, 400: a filter it does
 * not know); the message names the URL and the reason.
 */
export async function openLiveStream(options: LiveStreamClientOptions): Promise<LiveStreamSubscription> {
  const u = new URL('/stream', options.url);
  u.search = streamFilterParams(options.filter ?? {}).toString();
  const r = await agentRequest({
    agentUrl: options.url,
    url: u,
    signal: options.signal,
    timeoutMs: options.connectTimeoutMs ?? 1000,
    until: 'headers',
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  const { res, ctrl, release } = r;
  if (!res.ok || !res.body) {
    release();
    const body = (await res.text().catch(() => '')).trim();
    throw new NotFoundError(`agent at ${options.url} refused the stream: HTTP ${res.status}${body ? ` ${body}` : ''}${authHint(res.status, r)}`);
  }
  const body = res.body;
  const done = (async (): Promise<LiveStreamEnd> => {
    let n = 0;
    let buf = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line === '') continue;
          const v = JSON.parse(line) as LiveStreamEvent | { stream: LiveStreamStatus };
          if ('stream' in v) {
            options.onStatus?.(v.stream);
            continue;
          }
          n++;
          options.onEvent(v);
        }
      }
      return { events: n, by: ctrl.signal.aborted ? 'client' : 'agent' };
    } catch (err) {
      if (ctrl.signal.aborted) return { events: n, by: 'client' };
      return { events: n, by: 'agent', error: err instanceof Error ? err.message : String(err) };
    } finally {
      release();
    }
  })();
  const id = res.headers.get('x-maxpro-stream-id') ?? undefined;
  return { url: options.url, ...(id ? { id } : {}), done, close: () => ctrl.abort() };
}

/** Streams until the signal aborts or the agent ends the stream; resolves to the number of events received. See `openLiveStream`. */
export async function attachLiveStream(options: LiveStreamClientOptions): Promise<number> {
  return (await (await openLiveStream(options)).done).events;
}
