// SPDX-License-Identifier: Apache-2.0
/**
 * A bounded export queue in the shape of OpenTelemetry's
 * BatchSpanProcessorBase: items wait in a fixed-size queue and leave in
 * batches, on a timer or when a batch fills. Nothing is lost silently: an
 * item that does not fit is dropped and counted (`queue_full`), a batch the
 * exporter finally gives up on is counted (`export_failed`), and items still
 * queued when the shutdown deadline passes are counted (`shutdown`).
 * Timers are unref'd; shutdown runs once.
 */
import { InvalidArgumentError } from '../lib/errors.js';

export type ExportDropReason = 'queue_full' | 'export_failed' | 'shutdown';
export const EXPORT_DROP_REASONS: readonly ExportDropReason[] = ['queue_full', 'export_failed', 'shutdown'];

/** The outcome of one batch, as a value. */
export type BatchResult = { status: 'success' } | { status: 'failure'; error: unknown };

export interface ExportQueueOptions<T> {
  /** Sends one batch; retries are its business. Must settle. */
  exportBatch(items: T[]): Promise<BatchResult>;
  maxQueueSize?: number;
  maxBatchSize?: number;
  /** Default 1000. */
  flushIntervalMs?: number;
  /** Receives failures (also counted). */
  onError?(err: unknown): void;
}

export interface ExportQueueStats {
  /** Items waiting. */
  depth: number;
  capacity: number;
  accepted: number;
  /** Items acknowledged by the receiver. */
  exported: number;
  dropped: Record<ExportDropReason, number>;
  batches: number;
  failedBatches: number;
  /** Items inside the batch being sent. */
  inFlight: number;
}

export interface ExportQueue<T> {
  /** Queues an item; false (and counted) when the queue is full or shut down. */
  add(item: T): boolean;
  /** Exports everything queued now; resolves when done. */
  forceFlush(): Promise<void>;
  /** Stops accepting, drains until `deadlineMs` passes, counts the rest. Once only. */
  shutdown(deadlineMs?: number): Promise<void>;
  stats(): ExportQueueStats;
}

export function createExportQueue<T>(options: ExportQueueOptions<T>): ExportQueue<T> {
  const capacity = options.maxQueueSize ?? 8192;
  const maxBatch = Math.min(options.maxBatchSize ?? 512, capacity);
  const interval = options.flushIntervalMs ?? 1000;
  if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidArgumentError(`export queue: maxQueueSize ${capacity} must be an integer >= 1`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new InvalidArgumentError(`export queue: maxBatchSize ${maxBatch} must be an integer >= 1`);

  // A ring of fixed capacity: bounded memory whatever the input rate.
  const ring: (T | undefined)[] = new Array(capacity);
  let head = 0;
  let size = 0;
  const dropped: Record<ExportDropReason, number> = { queue_full: 0, export_failed: 0, shutdown: 0 };
  let accepted = 0, exported = 0, batches = 0, failedBatches = 0, inFlight = 0;
  let stopping = false;
  // Set when the shutdown deadline passed with a batch in flight: that batch is already counted as dropped.
  let abandoned = false;
  let shutdownPromise: Promise<void> | undefined;
  let sending: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const take = (n: number): T[] => {
    const out: T[] = [];
    while (out.length < n && size > 0) {
      out.push(ring[head]!);
      ring[head] = undefined;
      head = (head + 1) % capacity;
      size--;
    }
    return out;
  };

  const sendOne = async (): Promise<void> => {
    const batch = take(maxBatch);
    if (batch.length === 0) return;
    inFlight = batch.length;
    batches++;
    let res: BatchResult;
    try {
      res = await options.exportBatch(batch);
    } catch (err) {
      res = { status: 'failure', error: err };
    }
    inFlight = 0;
    if (abandoned) return;
    if (res.status === 'success') exported += batch.length;
    else {
      failedBatches++;
      dropped.export_failed += batch.length;
      options.onError?.(res.error);
    }
  };

  // One sender at a time; it keeps going while full batches are waiting.
  const pump = (all: boolean): Promise<void> => {
    if (sending) return sending;
    sending = (async () => {
      try {
        do await sendOne(); while (size >= maxBatch || (all && size > 0));
      } finally {
        sending = undefined;
      }
    })();
    return sending;
  };

  const arm = (): void => {
    if (timer || stopping) return;
    timer = setTimeout(() => {
      timer = undefined;
      void pump(false).then(() => { if (size > 0) arm(); });
    }, interval);
    timer.unref();
  };

  return {
    add(item) {
      if (stopping) {
        dropped.shutdown++;
        return false;
      }
      if (size >= capacity) {
        dropped.queue_full++;
        return false;
      }
      ring[(head + size) % capacity] = item;
      size++;
      accepted++;
      if (size >= maxBatch && !sending) void pump(false);
      else arm();
      return true;
    },
    async forceFlush() {
      if (sending) await sending;
      await pump(true);
    },
    shutdown(deadlineMs = 5000) {
      shutdownPromise ??= (async () => {
        stopping = true;
        if (timer) clearTimeout(timer);
        timer = undefined;
        let deadlineTimer: NodeJS.Timeout | undefined;
        // Not unref'd: shutdown is awaited, and the deadline must fire even when nothing else is pending.
        const deadline = new Promise<'late'>((r) => { deadlineTimer = setTimeout(() => r('late'), deadlineMs); });
        const drain = (async () => {
          while (size > 0 || sending) {
            if (sending) await sending;
            else await pump(true);
          }
          return 'done' as const;
        })();
        const outcome = await Promise.race([drain, deadline]);
        clearTimeout(deadlineTimer);
        if (outcome === 'late') {
          dropped.shutdown += size + inFlight;
          abandoned = true;
          take(size);
        }
      })();
      return shutdownPromise;
    },
    stats: () => ({
      depth: size, capacity, accepted, exported, dropped: { ...dropped }, batches, failedBatches, inFlight,
    }),
  };
}
