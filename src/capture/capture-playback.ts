// SPDX-License-Identifier: Apache-2.0
/**
 * Plays a loaded capture back in time order at a chosen speed: events at
 * their time, spans at their end (when they were seen whole). Speed
 * Infinity plays as fast as the callbacks allow.
 */
import type { LiveStreamEvent } from '../agent/http/live-stream-client.js';
import type { StoredSpan } from '../collector/span-store.js';
import { eventTimeNs, type CaptureContents } from './capture-contents.js';

export interface PlaybackOptions {
  /** Capture seconds per wall second; Infinity for as fast as possible. */
  speed: number;
  signal?: AbortSignal;
  onEvent(e: LiveStreamEvent, timeNs: bigint): void;
  /** May return a promise (e.g. loading into a collector): playback waits for it. */
  onSpan(s: StoredSpan, timeNs: bigint): void | Promise<void>;
  /** Called at most every `tickMs` of wall time with the capture time reached; default 1000 ms. */
  onTick?(timeNs: bigint): void;
  tickMs?: number;
}

export interface PlaybackResult {
  events: number;
  spans: number;
  /** True when the signal stopped it before the end. */
  interrupted: boolean;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  if (signal?.aborted) return resolve();
  const t = setTimeout(done, ms);
  function done(): void {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done, { once: true });
});

export async function playCapture(c: CaptureContents, o: PlaybackOptions): Promise<PlaybackResult> {
  const spans = c.spans.map((s) => ({ s, t: BigInt(s.endTimeUnixNano) })).sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  const result: PlaybackResult = { events: 0, spans: 0, interrupted: false };
  let ei = 0, si = 0;
  const first = [c.events[0] ? eventTimeNs(c.events[0]) : undefined, spans[0]?.t].filter((x): x is bigint => x !== undefined);
  if (first.length === 0) return result;
  const t0 = first.reduce((a, b) => (b < a ? b : a));
  const wall0 = performance.now();
  let lastTick = wall0;
  const tickMs = o.tickMs ?? 1000;
  while (ei < c.events.length || si < spans.length) {
    if (o.signal?.aborted) { result.interrupted = true; break; }
    const et = ei < c.events.length ? eventTimeNs(c.events[ei]!) : undefined;
    const st = si < spans.length ? spans[si]!.t : undefined;
    const t = st === undefined || (et !== undefined && et <= st) ? et! : st;
    if (Number.isFinite(o.speed)) {
      const due = wall0 + Number(t - t0) / 1e6 / o.speed;
      const wait = due - performance.now();
      if (wait > 5) await sleep(wait, o.signal);
      if (o.signal?.aborted) { result.interrupted = true; break; }
    }
    if (t === et && (st === undefined || et <= st)) {
      o.onEvent(c.events[ei++]!, t);
      result.events++;
    } else {
      await o.onSpan(spans[si++]!.s, t);
      result.spans++;
    }
    const now = performance.now();
    if (o.onTick && now - lastTick >= tickMs) {
      lastTick = now;
      o.onTick(t);
    }
    // Let timers and I/O run during a fast replay of a long capture.
    if (!Number.isFinite(o.speed) && (result.events + result.spans) % 5000 === 0) await sleep(0);
  }
  return result;
}
