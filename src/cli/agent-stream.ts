// SPDX-License-Identifier: Apache-2.0
/**
 * How `trace exec`, `trace tcp` and `top tcp` pick their event source:
 * attach to a running agent (its live stream, or its TCP aggregates) when
 * one answers, else load the probes in this process. One stderr line says
 * which was chosen (stdout stays clean for --json).
 */
import { openLiveStream } from '../agent/http/live-stream-client.js';
import type { LiveStreamEnd, LiveStreamEvent, LiveStreamSubscription } from '../agent/http/live-stream-client.js';
import type { LiveStreamStatus } from '../agent/http/live-stream.js';
import type { StreamFilter } from '../agent/http/stream-filter.js';
import { NotFoundError } from '../lib/errors.js';
import type { EventSourceChoice } from './workload-filter-flags.js';

export interface AgentStreamOptions {
  source: EventSourceChoice;
  filter: StreamFilter;
  onEvent(e: LiveStreamEvent): void;
  /** Where the choice is reported. */
  err: NodeJS.WritableStream;
  signal: AbortSignal;
  /** Default 1000 ms. */
  connectTimeoutMs?: number;
}

/** An attached subscription and what the agent reported about it. */
export interface AgentStream {
  readonly subscription: LiveStreamSubscription;
  /** The first and the latest status line (undefined until one arrives). */
  status(): { first?: LiveStreamStatus; last?: LiveStreamStatus };
}

/**
 * The source choice every attaching command makes: resolves to what
 * `attach(url)` resolved to, or to undefined when the command should load
 * its probes itself (--local, or no agent answered and none was named
 * explicitly). Rejects with the `NotFoundError` of an explicit --agent that
 * does not answer or refuses, and with any other error of `attach`. One
 * stderr line says which source is used.
 */
export async function attachToAgent<T>(source: EventSourceChoice, err: NodeJS.WritableStream, attach: (url: string) => Promise<T>): Promise<T | undefined> {
  if (source.local) {
    err.write('maxpro: --local: loading probes locally\n');
    return undefined;
  }
  try {
    const attached = await attach(source.url);
    err.write(`maxpro: attached to agent at ${source.url}\n`);
    return attached;
  } catch (e) {
    if (source.explicit || !(e instanceof NotFoundError)) throw e;
    err.write(`maxpro: ${e.message}: loading probes locally\n`);
    return undefined;
  }
}

/**
 * Attaches to the agent the flags name, or resolves to undefined when the
 * command should load its probes itself; see `attachToAgent`.
 */
export async function openAgentStream(o: AgentStreamOptions): Promise<AgentStream | undefined> {
  let first: LiveStreamStatus | undefined;
  let last: LiveStreamStatus | undefined;
  return attachToAgent(o.source, o.err, async (url) => {
    const subscription = await openLiveStream({
      url, filter: o.filter, onEvent: o.onEvent, signal: o.signal,
      onStatus: (s) => {
        first ??= s;
        last = s;
      },
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    });
    return { subscription, status: () => ({ ...(first ? { first } : {}), ...(last ? { last } : {}) }) };
  });
}

/**
 * The loss line of a summary in agent mode: what this subscription lost, what
 * the command could not write (`outputDropped`: its stdout was not read fast
 * enough), and what the agent's probe lost meanwhile.
 */
export function formatAgentLoss(probe: string, s: { first?: LiveStreamStatus; last?: LiveStreamStatus }, outputDropped?: number): string {
  const out = outputDropped !== undefined ? `stdout too slow: ${outputDropped}; ` : '';
  if (!s.last) return `lost: ${outputDropped ? `${outputDropped}+unknown (${out}` : 'unknown ('}the agent sent no stream status)\n`;
  const slow = s.last.dropped;
  const probeLost = (s.last.probeLost[probe] ?? 0) - (s.first?.probeLost[probe] ?? 0);
  return `lost: ${slow + probeLost + (outputDropped ?? 0)} (agent stream, reader too slow: ${slow}; ${out}agent ${probe} probe while attached: ${probeLost})\n`;
}

/**
 * Resolves when the command should stop: the signal aborts, `durationSec`
 * passes, or `ended` (the agent's stream) resolves; to that stream end, if
 * it came first.
 */
export function waitForStop(signal: AbortSignal, durationSec: number | undefined, ended?: Promise<LiveStreamEnd>): Promise<LiveStreamEnd | undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(undefined);
    const timer = durationSec !== undefined ? setTimeout(() => finish(undefined), durationSec * 1000) : undefined;
    const onAbort = (): void => finish(undefined);
    function finish(v: LiveStreamEnd | undefined): void {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    void ended?.then((end) => finish(end));
  });
}
