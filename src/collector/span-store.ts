// SPDX-License-Identifier: Apache-2.0
/**
 * The storage interface of the span collector. The embedded SQLite store
 * implements it today; every method is asynchronous so that a clustered,
 * networked backend can sit behind the same interface later.
 */
import type { KeyValue, RecordRow, SpanRow } from './span-model.js';

/** What one ingest request commits: written atomically, acknowledged after. */
export interface StoreBatch {
  spans: readonly SpanRow[];
  logs: readonly RecordRow[];
  metrics: readonly RecordRow[];
}

/** A span as the query API returns it: OTLP/JSON field names, plus `service`. */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationNs: number;
  service: string;
  attributes: KeyValue[];
  events: Record<string, unknown>[];
  links: Record<string, unknown>[];
  status: { code: number; message?: string };
  traceState?: string;
  flags?: number;
  droppedAttributesCount?: number;
  droppedEventsCount?: number;
  droppedLinksCount?: number;
  resource: Record<string, unknown>;
  scope: Record<string, unknown>;
}

/** A stored log record or metric, in OTLP/JSON form. */
export interface StoredRecord {
  service: string;
  resource: Record<string, unknown>;
  scope: Record<string, unknown>;
  record: Record<string, unknown>;
}

/** Log or metric listing. Every field narrows; results are newest first and paged. */
export interface RecordQuery {
  service?: string;
  /** Record time (log time, else observed time; a metric's latest point) at or after, Unix ns. */
  startNs?: bigint;
  /** Record time before, Unix ns. */
  endNs?: bigint;
  /** Page size; default 100, at most 10000. */
  limit?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

/** One page of log records or metrics. */
export interface RecordPage {
  records: StoredRecord[];
  /** Present when more records may follow. */
  nextPageToken?: string;
}

/** Span search. Every field narrows; results are newest first and paged. */
export interface SpanQuery {
  service?: string;
  operation?: string;
  /** Inclusive lower bound on the start time, Unix ns. */
  startNs?: bigint;
  /** Exclusive upper bound on the start time, Unix ns. */
  endNs?: bigint;
  minDurationNs?: bigint;
  maxDurationNs?: bigint;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode?: number;
  /** Span attributes that must equal these values (compared as text). */
  attributes?: Readonly<Record<string, string>>;
  /** Page size; default 20, at most 1000. */
  limit?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

/** One page of search results. */
export interface SpanPage {
  spans: StoredSpan[];
  /**
   * Present when more results may follow. A page can hold fewer than `limit`
   * spans and still have a token when the store bounded its scan.
   */
  nextPageToken?: string;
}

/** Spans in arrival order, for a client that follows the store (`maxpro record`). */
export interface SpanExport {
  spans: StoredSpan[];
  /** The cursor to pass next: the arrival sequence of the last span returned, else the one given. */
  next: string;
}

/** A (service, operation, kind) seen in stored spans. */
export interface Operation {
  service: string;
  name: string;
  kind: number;
}

/** RED metrics query for one service (optionally one operation). */
export interface RedQuery {
  service: string;
  operation?: string;
  startNs: bigint;
  endNs: bigint;
  /** Bucket width; the window is split into buckets of this size. */
  stepNs: bigint;
}

/** Rate, errors and duration percentiles over some interval. */
export interface RedFigures {
  count: number;
  /** Spans per second over the interval. */
  rate: number;
  /** Errors / count, 0 when there are no spans. */
  errorRatio: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/** RED figures of one operation over the window and per bucket. */
export interface RedSeries {
  operation: string;
  total: RedFigures;
  buckets: (RedFigures & { startNs: string })[];
}

/** The answer to a {@link RedQuery}. */
export interface RedResult {
  service: string;
  startNs: string;
  endNs: string;
  stepNs: string;
  /** All operations together first (operation `*`), then each operation. */
  series: RedSeries[];
  /** True when the row cap was hit and figures cover only part of the window. */
  truncated: boolean;
}

/** A caller → callee edge of the service dependency graph. */
export interface DependencyEdge {
  parent: string;
  child: string;
  callCount: number;
  errorCount: number;
}

/** What a retention pass removed. */
export interface RetentionResult {
  deletedSpans: number;
  deletedRecords: number;
}

/** Size figures of the store. */
export interface StoreStats {
  spans: number;
  logs: number;
  metrics: number;
  /** Bytes the store uses on disk, data and write-ahead log. */
  diskBytes: number;
}

/** A span store: written by the receiver, read by the query API. */
export interface SpanStore {
  /** Commits the batch durably; resolves only once it would survive a crash of the process. */
  write(batch: StoreBatch): Promise<void>;
  /** Every span of a trace, oldest first; empty when unknown. */
  getTrace(traceId: string): Promise<StoredSpan[]>;
  searchSpans(query: SpanQuery): Promise<SpanPage>;
  /**
   * Spans stored after cursor `after` ('0': from the first), oldest arrival
   * first, at most `limit` (at most 10000). `limit` 0 returns no span and the
   * cursor of the newest one: where a follower starts to see only new spans.
   */
  exportSpans(after: string, limit: number): Promise<SpanExport>;
  listServices(): Promise<string[]>;
  listOperations(service?: string): Promise<Operation[]>;
  redMetrics(query: RedQuery): Promise<RedResult>;
  dependencies(startNs: bigint, endNs: bigint): Promise<DependencyEdge[]>;
  /** Log records or metrics, newest first (record time, then arrival), paged like {@link searchSpans}. */
  listRecords(signal: 'logs' | 'metrics', query: RecordQuery): Promise<RecordPage>;
  /** Applies retention by age and size once. */
  applyRetention(): Promise<RetentionResult>;
  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}
