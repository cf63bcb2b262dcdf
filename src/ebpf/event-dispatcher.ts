// SPDX-License-Identifier: Apache-2.0
/**
 * Dispatches each record of a batch on its header `kind` to a decoder.
 * Unknown kinds, bad versions, short records and decoder failures are counted
 * per kind and skipped: they never stop the reader.
 */
import type { EventBatch } from './event-batch.js';
import { RECORD_HEADER_BYTES } from './event-batch.js';
import { EVENT_HEADER } from './event-layout.js';

export interface KindDecoder {
  /** Highest layout version understood; newer records are counted and skipped. */
  readonly version: number;
  /** Smallest valid record. */
  readonly minSize: number;
  /** Decodes in place; copy anything kept. */
  decode(view: DataView, offset: number, length: number, bytes: Uint8Array): void;
}

export type SkipReason = 'unknown_kind' | 'bad_version' | 'short_record' | 'decode_error';

export interface DispatcherStats {
  /** Records decoded, by kind. */
  readonly decoded: ReadonlyMap<number, number>;
  /** Records skipped, by `${kind}:${reason}`. */
  readonly skipped: ReadonlyMap<string, number>;
}

export interface EventDispatcher {
  dispatch(batch: EventBatch): void;
  stats(): DispatcherStats;
}

export interface EventDispatcherOptions {
  decoders: ReadonlyMap<number, KindDecoder>;
  /** Called for a decoder that threw (after counting). */
  onDecodeError?(kind: number, err: unknown): void;
}

export function createEventDispatcher(options: EventDispatcherOptions): EventDispatcher {
  const decoded = new Map<number, number>();
  const skipped = new Map<string, number>();
  const skip = (kind: number, reason: SkipReason): void => {
    const k = `${kind}:${reason}`;
    skipped.set(k, (skipped.get(k) ?? 0) + 1);
  };
  const { decoders, onDecodeError } = options;
  const sizeOff = EVENT_HEADER.fields.size.offset;
  return {
    dispatch(batch: EventBatch): void {
      const { view, bytes, byteLength } = batch;
      let off = 0;
      let lastKind = -1;
      let lastCount = 0;
      while (off < byteLength) {
        const len = view.getUint32(off, true);
        const rec = off + RECORD_HEADER_BYTES;
        off = rec + ((len + 7) & ~7);
        if (len < EVENT_HEADER.size) {
          skip(-1, 'short_record');
          continue;
        }
        const kind = view.getUint8(rec);
        const d = decoders.get(kind);
        if (!d) {
          skip(kind, 'unknown_kind');
          continue;
        }
        if (view.getUint8(rec + 1) > d.version) {
          skip(kind, 'bad_version');
          continue;
        }
        if (len < d.minSize || view.getUint32(rec + sizeOff, true) > len) {
          skip(kind, 'short_record');
          continue;
        }
        try {
          d.decode(view, rec, len, bytes);
        } catch (err) {
          skip(kind, 'decode_error');
          onDecodeError?.(kind, err);
          continue;
        }
        // Count runs of one kind with one map update.
        if (kind === lastKind) lastCount++;
        else {
          if (lastKind >= 0) decoded.set(lastKind, (decoded.get(lastKind) ?? 0) + lastCount);
          lastKind = kind;
          lastCount = 1;
        }
      }
      if (lastKind >= 0) decoded.set(lastKind, (decoded.get(lastKind) ?? 0) + lastCount);
    },
    stats: () => ({ decoded, skipped }),
  };
}
