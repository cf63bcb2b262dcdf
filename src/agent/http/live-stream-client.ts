// SPDX-License-Identifier: Apache-2.0
/**
 * Attaches to a running agent's live stream (`GET /stream`, NDJSON), so that
 * `maxpro trace …` can show the agent's events without loading probes of its
 * own. Events arrive already enriched, filtered by the agent's policies and
 * redacted.
 */
import { NotFoundError } from '../../lib/errors.js';

/** One line of the stream. */
export interface LiveStreamEvent {
  time: string;
  probe: string;
  name: string;
  pid: number;
  tgid: number;
  comm: string;
  cgroupId: number;
  fields: Record<string, number>;
  attributes: Record<string, string | number | boolean>;
  labels: Record<string, string>;
  workload: Record<string, string>;
}

export interface LiveStreamClientOptions {
  /** The agent's base URL, e.g. http://127.0.0.1:9464. */
  url: string;
  /** Only this probe's events. */
  probe?: string;
  /** Only events whose name starts with this, e.g. `process.exec`. */
  name?: string;
  onEvent(e: LiveStreamEvent): void;
  signal?: AbortSignal;
}

/** The default agent address (MAXPRO_AGENT_URL, else the default listen address). */
export function defaultAgentUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.MAXPRO_AGENT_URL ?? 'http://127.0.0.1:9464';
}

/**
 * Streams until the signal aborts or the agent closes the stream; resolves
 * to the number of events received. Rejects with a MaxproError when the
 * agent cannot be reached or refuses (e.g. 503: too many clients) with
 * `NotFoundError`.
 */
export async function attachLiveStream(options: LiveStreamClientOptions): Promise<number> {
  const u = new URL('/stream', options.url);
  if (options.probe) u.searchParams.set('probe', options.probe);
  if (options.name) u.searchParams.set('name', options.name);
  let res: Response;
  try {
    res = await fetch(u, { ...(options.signal ? { signal: options.signal } : {}) });
  } catch (err) {
    if (options.signal?.aborted) return 0;
    throw new NotFoundError(`no agent at ${options.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!res.ok || !res.body) throw new NotFoundError(`agent at ${options.url} refused the stream: HTTP ${res.status} ${(await res.text()).trim()}`);
  let n = 0;
  let buf = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === '') continue;
        n++;
        options.onEvent(JSON.parse(line) as LiveStreamEvent);
      }
    }
  } catch (err) {
    if (!options.signal?.aborted) throw err;
  }
  return n;
}
