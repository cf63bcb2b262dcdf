// SPDX-License-Identifier: Apache-2.0
/**
 * Loads a capture's records, narrowed by service, pod and time window, in
 * time order: what `maxpro replay` plays and `--diff` compares. Blocks
 * outside the window are skipped on their header's time range. At most
 * `maxRecords` records are kept; the rest are counted, not loaded.
 */
import type { LiveStreamEvent } from '../agent/http/live-stream-client.js';
import type { StoredSpan } from '../collector/span-store.js';
import { readCaptureBlocks, type CaptureProblem } from './capture-reader.js';
import type { MetricsScrape, RecordSummary } from './capture-recorder.js';

/** What to keep; every given field must match. */
export interface CaptureFilter {
  /** Spans of this service (events carry no service and are not narrowed by it). */
  service?: string;
  /** Events of this pod (name or UID) and spans whose resource names it (`k8s.pod.name`, `k8s.pod.uid`). */
  pod?: string;
  /** Records at or after, Unix ns. */
  sinceNs?: bigint;
  /** Records before, Unix ns. */
  untilNs?: bigint;
}

export interface CaptureContents {
  meta?: Record<string, unknown>;
  /** The recorder's closing summary; absent when it was killed. */
  stats?: RecordSummary;
  /** Time order. */
  events: LiveStreamEvent[];
  /** Start time order. */
  spans: StoredSpan[];
  metrics: MetricsScrape[];
  /** Blocks that could not be read. */
  problems: CaptureProblem[];
  /** Records the filter left out. */
  filtered: number;
  /** Records not loaded because `maxRecords` was reached. */
  overLimit: number;
}

export const eventTimeNs = (e: LiveStreamEvent): bigint => BigInt(Date.parse(e.time) || 0) * 1_000_000n;

function resourceAttr(s: StoredSpan, key: string): string | undefined {
  const attrs = (s.resource.attributes ?? []) as { key: string; value?: { stringValue?: string } }[];
  return attrs.find((a) => a.key === key)?.value?.stringValue;
}

export function loadCapture(path: string, filter: CaptureFilter = {}, maxRecords = 500_000): CaptureContents {
  const out: CaptureContents = { events: [], spans: [], metrics: [], problems: [], filtered: 0, overLimit: 0 };
  const inWindow = (t: bigint): boolean => (filter.sinceNs === undefined || t >= filter.sinceNs) && (filter.untilNs === undefined || t < filter.untilNs);
  let loaded = 0;
  const keep = (ok: boolean): boolean => {
    if (!ok) { out.filtered++; return false; }
    if (loaded >= maxRecords) { out.overLimit++; return false; }
    loaded++;
    return true;
  };
  for (const b of readCaptureBlocks(path, (p) => out.problems.push(p))) {
    const h = b.header;
    if (h.kind === 'meta') { out.meta = b.records[0] as Record<string, unknown>; continue; }
    if (h.kind === 'stats') { out.stats = b.records[0] as RecordSummary; continue; }
    if ((filter.sinceNs !== undefined && h.endNs < filter.sinceNs) || (filter.untilNs !== undefined && h.startNs >= filter.untilNs)) {
      out.filtered += h.records;
      continue;
    }
    if (h.kind === 'events') {
      for (const r of b.records as LiveStreamEvent[]) {
        const pod = filter.pod === undefined || r.workload?.pod === filter.pod;
        if (keep(pod && inWindow(eventTimeNs(r)))) out.events.push(r);
      }
    } else if (h.kind === 'spans') {
      for (const s of b.records as StoredSpan[]) {
        const ok = (filter.service === undefined || s.service === filter.service)
          && (filter.pod === undefined || resourceAttr(s, 'k8s.pod.name') === filter.pod || resourceAttr(s, 'k8s.pod.uid') === filter.pod)
          && inWindow(BigInt(s.startTimeUnixNano));
        if (keep(ok)) out.spans.push(s);
      }
    } else if (h.kind === 'metrics') {
      for (const m of b.records as MetricsScrape[]) if (keep(filter.pod === undefined && filter.service === undefined && inWindow(BigInt(m.timeNs)))) out.metrics.push(m);
    }
  }
  const byBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
  const times = new Map(out.events.map((e) => [e, eventTimeNs(e)]));
  out.events.sort((a, b) => byBig(times.get(a)!, times.get(b)!));
  const starts = new Map(out.spans.map((x) => [x, BigInt(x.startTimeUnixNano)]));
  out.spans.sort((a, b) => byBig(starts.get(a)!, starts.get(b)!));
  return out;
}
