// SPDX-License-Identifier: Apache-2.0
/**
 * One drained batch of ring-buffer records, in place in a reusable buffer.
 * Layout: records back to back, each `[u32 length][u32 0][data]`, data padded
 * to 8 bytes. The batch is valid only during the callback that receives it:
 * copy out what you keep.
 */

/** Bytes before each record's data. */
export const RECORD_HEADER_BYTES = 8;

export interface EventBatch {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  /** Bytes used in the buffer. */
  readonly byteLength: number;
  /** Records in the batch. */
  readonly count: number;
}

/** Calls `fn(view, offset, length)` for each record; offset is the data start. */
export function forEachRecord(batch: EventBatch, fn: (view: DataView, offset: number, length: number) => void): void {
  const { view, byteLength } = batch;
  let off = 0;
  while (off < byteLength) {
    const len = view.getUint32(off, true);
    fn(view, off + RECORD_HEADER_BYTES, len);
    off += RECORD_HEADER_BYTES + ((len + 7) & ~7);
  }
}
