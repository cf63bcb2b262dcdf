// SPDX-License-Identifier: Apache-2.0
/**
 * Records what a running agent and collector see into a capture file: the
 * agent's live stream (exec, fork, exit and TCP events, before the export
 * policy), the spans the collector stores (followed in arrival order with
 * `/api/spans/export`), and periodic scrapes of the agent's `/metrics`.
 * Profiles have a block kind but no source yet. Nothing is held beyond the
 * writer's pending block; what the agent dropped for this subscriber, what
 * its probes lost and every failed poll or scrape are counted and written
 * in the closing `stats` block.
 */
import { hostname } from 'node:os';
import { openLiveStream, type LiveStreamEvent, type LiveStreamSubscription } from '../agent/http/live-stream-client.js';
import { agentRequest } from '../agent/http/agent-request.js';
import type { LiveStreamStatus } from '../agent/http/live-stream.js';
import type { QueryClient } from '../collector/query-client.js';
import type { StoredSpan } from '../collector/span-store.js';
import type { CaptureWriter } from './capture-writer.js';

export interface CaptureRecorderOptions {
  writer: CaptureWriter;
  /** The agent to subscribe to; omit to record no events or metrics. */
  agentUrl?: string;
  /** The agent's bearer token; default this node's. */
  agentToken?: string;
  /** The collector to follow; omit to record no spans. */
  collector?: Pick<QueryClient, 'url' | 'exportSpans'>;
  /** Span poll period; default 500 ms. */
  pollMs?: number;
  /** `/metrics` scrape period; default 5000 ms, 0 for none. */
  metricsEveryMs?: number;
  /** Longest a record waits in memory before its block is written; default 1000 ms. */
  flushEveryMs?: number;
  /** Written into the meta block. */
  meta?: Record<string, unknown>;
}

/** A metrics record: one scrape of an agent's `/metrics`. */
export interface MetricsScrape {
  timeNs: string;
  source: 'agent';
  url: string;
  text: string;
}

/** What a recording holds and lost; also the body of the capture's `stats` block. */
export interface RecordSummary {
  startedNs: string;
  endedNs: string;
  events: number;
  eventsByName: Record<string, number>;
  spans: number;
  traces: number;
  metrics: number;
  /** Counted losses by reason. */
  drops: Record<string, number>;
  /** Why the agent stream ended early, when it did. */
  streamEnd?: string;
}

export interface CaptureRecorder {
  /** Writes the meta block, subscribes and starts polling; resolves once the agent accepted the subscription. */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops, drains the collector once more, writes the stats block and closes the file. */
  stop(): Promise<RecordSummary>;
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const MAX_TRACE_IDS = 1_000_000;

export function createCaptureRecorder(o: CaptureRecorderOptions): CaptureRecorder {
  const w = o.writer;
  const startedNs = nowNs();
  const eventsByName: Record<string, number> = {};
  const drops: Record<string, number> = {};
  const traceIds = new Set<string>();
  let events = 0, spans = 0, metrics = 0;
  let firstStatus: LiveStreamStatus | undefined, lastStatus: LiveStreamStatus | undefined;
  let sub: LiveStreamSubscription | undefined;
  let streamEnd: string | undefined;
  let cursor = '0';
  const timers: NodeJS.Timeout[] = [];
  let polling: Promise<void> = Promise.resolve();
  let writeError: unknown;
  let scraping: Promise<void> = Promise.resolve();
  const count = (reason: string, n = 1): void => { drops[reason] = (drops[reason] ?? 0) + n; };

  const onEvent = (e: LiveStreamEvent): void => {
    const ms = Date.parse(e.time);
    w.append('events', e, Number.isFinite(ms) ? BigInt(ms) * 1_000_000n : nowNs());
    events++;
    eventsByName[e.name] = (eventsByName[e.name] ?? 0) + 1;
  };
  const addSpan = (s: StoredSpan): void => {
    w.append('spans', s, BigInt(s.startTimeUnixNano));
    spans++;
    if (traceIds.size < MAX_TRACE_IDS) traceIds.add(s.traceId);
  };
  // Drains the collector from the cursor; a failed request is counted and retried next period.
  const pollSpans = async (): Promise<void> => {
    if (!o.collector) return;
    try {
      for (let pages = 0; pages < 100; pages++) {
        const page = await o.collector.exportSpans(cursor, 1000);
        for (const s of page.spans) addSpan(s);
        cursor = page.next;
        if (page.spans.length < 1000) break;
      }
    } catch {
      count('span_poll_failed');
    }
  };
  const scrape = async (): Promise<void> => {
    if (!o.agentUrl) return;
    const url = new URL('/metrics', o.agentUrl);
    try {
      const r = await agentRequest({ agentUrl: o.agentUrl, url, timeoutMs: 5000, until: 'body', ...(o.agentToken !== undefined ? { token: o.agentToken } : {}) });
      r.release();
      if (!r.res.ok || r.text === undefined) { count('metrics_scrape_failed'); return; }
      const t = nowNs();
      const rec: MetricsScrape = { timeNs: t.toString(), source: 'agent', url: url.toString(), text: r.text };
      w.append('metrics', rec, t);
      metrics++;
    } catch {
      count('metrics_scrape_failed');
    }
  };
  const every = (ms: number, fn: () => void): void => {
    const t = setInterval(fn, ms);
    timers.push(t);
  };

  return {
    async start(signal) {
      w.append('meta', { format: 1, startedNs: startedNs.toString(), host: hostname(), agentUrl: o.agentUrl, collectorUrl: o.collector?.url, ...o.meta }, startedNs);
      w.flush();
      if (o.collector) cursor = (await o.collector.exportSpans('0', 0)).next;
      if (o.agentUrl) {
        sub = await openLiveStream({
          url: o.agentUrl, onEvent, ...(signal ? { signal } : {}), ...(o.agentToken !== undefined ? { token: o.agentToken } : {}),
          onStatus: (s) => { firstStatus ??= s; lastStatus = s; },
        });
        void sub.done.then((end) => { if (end.by === 'agent') streamEnd = end.error ?? 'the agent ended the stream'; });
      }
      every(o.pollMs ?? 500, () => { polling = polling.then(pollSpans); });
      if ((o.metricsEveryMs ?? 5000) > 0 && o.agentUrl) {
        scraping = scrape();
        every(o.metricsEveryMs ?? 5000, () => { scraping = scraping.then(scrape); });
      }
      every(o.flushEveryMs ?? 1000, () => {
        try { w.flush(); } catch (err) { writeError ??= err; }
      });
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      sub?.close();
      if (writeError) throw writeError;
      if (sub) await sub.done;
      await scraping;
      await polling;
      await pollSpans();
      if (lastStatus) {
        if (lastStatus.dropped) count('agent_stream_slow_reader', lastStatus.dropped);
        for (const [probe, n] of Object.entries(lastStatus.probeLost)) {
          const lost = n - (firstStatus?.probeLost[probe] ?? 0);
          if (lost > 0) count(`agent_probe_lost_${probe}`, lost);
        }
      }
      if (traceIds.size >= MAX_TRACE_IDS) count('trace_count_capped');
      const endedNs = nowNs();
      const summary: RecordSummary = {
        startedNs: startedNs.toString(), endedNs: endedNs.toString(), events, eventsByName, spans, traces: traceIds.size, metrics, drops,
        ...(streamEnd ? { streamEnd } : {}),
      };
      w.append('stats', summary, endedNs);
      w.close();
      return summary;
    },
  };
}
