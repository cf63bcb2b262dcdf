// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest path both OTLP transports share: load admission (requests and
 * body bytes in flight, queued rows, rate), then decoding, per-record limits,
 * and the group commit. Each refusal is an error from `collector-refusals`
 * and is counted by its reason by the transport that answers it.
 */
import { decodeExportMessage, decodeExportRequest, encodeExportResponse, type OtlpFormat, type OtlpSignal } from '../lib/otlp/otlp-codec.js';
import { OtlpDecodeError } from '../lib/otlp/otlp-errors.js';
import type { PbMessage } from '../lib/otlp/otlp-values.js';
import { createTokenBucket, type TokenBucket } from '../lib/token-bucket.js';
import { OverloadedError, RefusalError } from './collector-refusals.js';
import type { GroupCommit } from './group-commit.js';
import { normalizeLogs, normalizeMetrics, normalizeSpans, type KeyValue, type NormalizeResult, type RecordLimits } from './span-model.js';
import { decodeSpanRows } from './span-wire-decoder.js';
import type { StoreBatch } from './span-store.js';

/** Request size and shape limits. */
export interface CollectorLimits extends RecordLimits {
  /** Most bytes of a request body as sent (compressed or not); default 4 MiB. */
  maxBodyBytes?: number;
  /** Most bytes of a gzip body once inflated; default 32 MiB. */
  maxDecompressedBytes?: number;
  /** Deepest JSON nesting of a body; default 64. */
  maxJsonDepth?: number;
}

/** Back-pressure: past these the collector answers 429/503 with Retry-After (gRPC: RESOURCE_EXHAUSTED/UNAVAILABLE with RetryInfo). */
export interface CollectorLoadOptions {
  /** Most requests being read, decoded or written at once; default 256 (503 beyond). */
  maxInflightRequests?: number;
  /** Most body bytes held in memory across requests; default 256 MiB (503 beyond). */
  maxInflightBytes?: number;
  /** Most spans decoded and waiting for commit; default 200,000 (429 beyond). */
  maxQueuedSpans?: number;
  /** Sustained ingest rate cap in spans/s (token bucket, 1 s burst); 0 = none (default). */
  maxSpansPerSecond?: number;
  /** The Retry-After value, seconds; default 1. */
  retryAfterSeconds?: number;
}

/** Options of {@link createIngest}. */
export interface IngestOptions {
  limits?: CollectorLimits;
  load?: CollectorLoadOptions;
  commit: GroupCommit;
  /** Counts records rejected inside an accepted request, by reason. */
  count: (reason: string, n: number) => void;
  log: (line: string) => void;
}

/** The shared ingest path. */
export interface Ingest {
  readonly limits: { maxBodyBytes: number; maxDecompressedBytes: number; maxJsonDepth: number };
  readonly retryAfter: number;
  /** Counts one request in progress (any endpoint); the returned function ends it. @throws OverloadedError past the in-flight cap. */
  enter(): () => void;
  /** Reserves `bytes` of the body budget before a body is read; the returned function releases it. @throws OverloadedError */
  reserve(bytes: number): () => void;
  /** Decodes, checks and commits one export request; resolves with the encoded export response. @throws RefusalError */
  process(signal: OtlpSignal, body: Buffer, format: OtlpFormat, extra: KeyValue[]): Promise<Uint8Array>;
  accepted(): Record<OtlpSignal, number>;
  inflightRequests(): number;
}

export function createIngest(o: IngestOptions): Ingest {
  const lim = {
    maxBodyBytes: o.limits?.maxBodyBytes ?? 4 * 1024 * 1024,
    maxDecompressedBytes: o.limits?.maxDecompressedBytes ?? 32 * 1024 * 1024,
    maxJsonDepth: o.limits?.maxJsonDepth ?? 64,
  };
  const load = {
    maxInflightRequests: o.load?.maxInflightRequests ?? 256,
    maxInflightBytes: o.load?.maxInflightBytes ?? 256 * 1024 * 1024,
    maxQueuedSpans: o.load?.maxQueuedSpans ?? 200_000,
    maxSpansPerSecond: o.load?.maxSpansPerSecond ?? 0,
    retryAfter: o.load?.retryAfterSeconds ?? 1,
  };
  const bucket: TokenBucket | undefined = load.maxSpansPerSecond > 0
    ? createTokenBucket({ ratePerSecond: load.maxSpansPerSecond, maxKeys: 1, now: () => Date.now() })
    : undefined;
  const accepted: Record<OtlpSignal, number> = { traces: 0, logs: 0, metrics: 0 };
  let inflight = 0;
  let inflightBytes = 0;

  const queueFull = (): OverloadedError =>
    new OverloadedError(429, 'queue_full', `${o.commit.queued()} spans wait for storage; retry later`, load.retryAfter);

  return {
    limits: lim,
    retryAfter: load.retryAfter,
    enter() {
      inflight++;
      let left = false;
      const leave = (): void => {
        if (!left) { left = true; inflight--; }
      };
      if (inflight > load.maxInflightRequests) {
        leave();
        throw new OverloadedError(503, 'inflight_limit', `more than ${load.maxInflightRequests} requests in progress; retry later`, load.retryAfter);
      }
      return leave;
    },
    reserve(bytes) {
      if (inflightBytes + bytes > load.maxInflightBytes) throw new OverloadedError(503, 'memory_limit', 'collector is at its memory budget; retry later', load.retryAfter);
      if (o.commit.queued() >= load.maxQueuedSpans) throw queueFull();
      inflightBytes += bytes;
      let released = false;
      return () => {
        if (!released) { released = true; inflightBytes -= bytes; }
      };
    },
    async process(signal, body, format, extra) {
      let result: NormalizeResult<unknown>;
      const batch: StoreBatch = { spans: [], logs: [], metrics: [] };
      const decodeOptions = { maxJsonDepth: lim.maxJsonDepth };
      try {
        if (signal === 'traces') {
          // Protobuf spans are read straight from the wire; JSON goes through
          // the message. Both build identical rows.
          const r = format === 'protobuf'
            ? decodeSpanRows(body, o.limits, extra)
            : normalizeSpans(decodeExportMessage(signal, body, format, decodeOptions) as unknown as PbMessage, o.limits, extra);
          batch.spans = r.rows;
          result = r;
        } else if (signal === 'logs') {
          const r = normalizeLogs(decodeExportRequest(signal, body, format, decodeOptions), o.limits);
          batch.logs = r.rows;
          result = r;
        } else {
          const r = normalizeMetrics(decodeExportRequest(signal, body, format, decodeOptions), o.limits);
          batch.metrics = r.rows;
          result = r;
        }
      } catch (err) {
        if (err instanceof OtlpDecodeError) throw new RefusalError(400, err.reason, err.message, { cause: err });
        throw err;
      }
      for (const [reason, n] of result.reasons) o.count(reason, n);
      const n = result.rows.length;
      if (n > 0) {
        if (o.commit.queued() + n > load.maxQueuedSpans) throw queueFull();
        if (bucket && !bucket.take('', n)) throw new OverloadedError(429, 'rate_limited', `ingest rate above ${load.maxSpansPerSecond} spans/s; retry later`, load.retryAfter);
        try {
          await o.commit.commit(batch, n);
        } catch (err) {
          o.log(`maxpro collector: storage write failed: ${(err as Error).message}`);
          throw new OverloadedError(503, 'storage_error', 'storage write failed; nothing was stored, retry later', load.retryAfter, { cause: err });
        }
        accepted[signal] += n;
      }
      return encodeExportResponse(signal, { rejected: result.rejected, errorMessage: result.firstError }, format);
    },
    accepted: () => ({ ...accepted }),
    inflightRequests: () => inflight,
  };
}
