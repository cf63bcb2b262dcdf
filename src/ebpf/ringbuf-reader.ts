// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a BPF ring buffer in batches. A native thread drains the ring every
 * `intervalMs` (or at once when a producer forces a wakeup above its fill
 * threshold) into one of a fixed pool of buffers and hands it to `onBatch`:
 * one JS call per batch, no allocation per event.
 */
import { ClosedError, InvalidArgumentError } from '../lib/errors.js';
import { native } from './native.js';
import type { ReaderHandle } from './native.js';
import type { BpfMap } from './bpf-map.js';
import type { EventBatch } from './event-batch.js';

export interface RingBufferReaderOptions {
  /** A map of type ringbuf. */
  map: BpfMap;
  /** Runs synchronously per batch; the batch is reused after it returns. */
  onBatch(batch: EventBatch): void;
  /** Receives errors thrown by onBatch; they are also counted. */
  onError?(err: unknown): void;
  /** Drain period. Default 10 ms. */
  intervalMs?: number;
  /** Bytes per batch buffer. Default 1 MiB. */
  batchBytes?: number;
  /** Batch buffers in the pool, which bounds the queue to JS. Default 4. */
  batches?: number;
  /**
   * When every buffer waits for JS: `block` leaves records in the kernel ring
   * (BPF counts what no longer fits); `drop` drops and counts them here.
   * Default `block`.
   */
  whenFull?: 'block' | 'drop';
}

export interface RingBufferReaderStats {
  /** Records handed to JS. */
  records: number;
  batches: number;
  bytes: number;
  /** Records dropped because every batch buffer was queued (whenFull: drop) or at teardown. */
  queueDrops: number;
  /** Records larger than a batch buffer. */
  oversizeDrops: number;
  /** Batches whose onBatch threw. */
  callbackErrors: number;
}

export interface RingBufferReader {
  stats(): RingBufferReaderStats;
  /** Drains now rather than at the next interval. */
  flush(): void;
  /** Whether the reader keeps the event loop alive (default true). */
  ref(on: boolean): void;
  /** Stops after one last drain; resolves when every batch was delivered. Idempotent. */
  close(): Promise<void>;
  readonly closed: boolean;
}

const DEFAULTS = { intervalMs: 10, batchBytes: 1 << 20, batches: 4 } as const;

/** Starts reading. May throw `InvalidArgumentError` or `SyscallError`. */
export function createRingBufferReader(options: RingBufferReaderOptions): RingBufferReader {
  const { map, onBatch, onError } = options;
  if (map.type !== 'ringbuf') throw new InvalidArgumentError(`createRingBufferReader: map ${map.name} is ${map.type}, not ringbuf`);
  const intervalMs = options.intervalMs ?? DEFAULTS.intervalMs;
  const batchBytes = options.batchBytes ?? DEFAULTS.batchBytes;
  const batches = options.batches ?? DEFAULTS.batches;
  if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > 60_000) throw new InvalidArgumentError(`createRingBufferReader: intervalMs ${intervalMs} not in 1..60000`);
  if (!Number.isInteger(batchBytes) || batchBytes < 4096 || batchBytes > 1 << 28) throw new InvalidArgumentError(`createRingBufferReader: batchBytes ${batchBytes} not in 4096..2^28`);
  if (!Number.isInteger(batches) || batches < 2 || batches > 1024) throw new InvalidArgumentError(`createRingBufferReader: batches ${batches} not in 2..1024`);

  let callbackErrors = 0;
  let handle: ReaderHandle | undefined;
  let views: { view: DataView; bytes: Uint8Array }[] = [];
  let resolveClosed!: () => void;
  const closedPromise = new Promise<void>((r) => { resolveClosed = r; });
  let closing = false;
  let lastStats: RingBufferReaderStats | undefined;

  const batch = { view: undefined as unknown as DataView, bytes: undefined as unknown as Uint8Array, byteLength: 0, count: 0 };
  const deliver = (index: number, bytes: number, count: number): void => {
    const v = views[index];
    if (!v) return;
    batch.view = v.view;
    batch.bytes = v.bytes;
    batch.byteLength = bytes;
    batch.count = count;
    try {
      onBatch(batch);
    } catch (err) {
      callbackErrors++;
      onError?.(err);
    }
  };
  const res = native().ringbufOpen(map.fd, deliver, () => {
    if (handle) lastStats = { ...native().ringbufStats(handle), callbackErrors };
    handle = undefined;
    views = [];
    resolveClosed();
  }, { intervalMs, batchBytes, batches, block: (options.whenFull ?? 'block') === 'block' });
  handle = res.handle;
  views = res.buffers.map((ab) => ({ view: new DataView(ab), bytes: new Uint8Array(ab) }));

  return {
    stats(): RingBufferReaderStats {
      if (!handle) return lastStats ?? { records: 0, batches: 0, bytes: 0, queueDrops: 0, oversizeDrops: 0, callbackErrors };
      return { ...native().ringbufStats(handle), callbackErrors };
    },
    flush(): void {
      if (!handle || closing) throw new ClosedError(`ring buffer reader ${map.name}`);
      native().ringbufFlush(handle);
    },
    ref(on: boolean): void {
      if (handle) native().ringbufRef(handle, on);
    },
    close(): Promise<void> {
      if (!closing && handle) {
        closing = true;
        native().ringbufClose(handle);
      }
      return closedPromise;
    },
    get closed(): boolean {
      return closing;
    },
  };
}
