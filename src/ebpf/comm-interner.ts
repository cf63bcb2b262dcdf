// SPDX-License-Identifier: Apache-2.0
/**
 * Decodes fixed 16-byte C strings (task comm) through a bounded cache keyed
 * by their raw bytes. Comms repeat across events, so a hit costs four u32
 * compares instead of building a string per event.
 */
import { readCString } from './event-layout.js';

export interface CommInterner {
  /** Decodes the 16 bytes at `offset` (NUL-terminated). */
  read(view: DataView, bytes: Uint8Array, offset: number): string;
  readonly size: number;
}

interface Entry { w0: number; w1: number; w2: number; w3: number; s: string }

/** `max` bounds memory: the cache is cleared when it fills. */
export function createCommInterner(max = 4096): CommInterner {
  const cache = new Map<number, Entry>();
  return {
    read(view, bytes, offset) {
      const w0 = view.getUint32(offset, true);
      const w1 = view.getUint32(offset + 4, true);
      const w2 = view.getUint32(offset + 8, true);
      const w3 = view.getUint32(offset + 12, true);
      const h = (Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(w2 ^ Math.imul(w3, 0xc2b2ae35), 0x27d4eb2f)) | 0;
      const e = cache.get(h);
      if (e && e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3) return e.s;
      const s = readCString(bytes, offset, 16);
      if (cache.size >= max) cache.clear();
      cache.set(h, { w0, w1, w2, w3, s });
      return s;
    },
    get size() {
      return cache.size;
    },
  };
}

/** Reads a little-endian u64 as a Number (exact below 2^53: timestamps, ids, counters). */
export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 4294967296;
}
