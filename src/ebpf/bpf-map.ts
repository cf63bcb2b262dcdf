// SPDX-License-Identifier: Apache-2.0
/**
 * A BPF map, bytes in and bytes out. Callers encode keys and values; per-CPU
 * maps return one slot per possible CPU, each rounded up to 8 bytes.
 */
import { ClosedError, InvalidArgumentError } from '../lib/errors.js';
import { native } from './native.js';

/** Update flags, as in the kernel's BPF_ANY / BPF_NOEXIST / BPF_EXIST. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

export interface BpfMap {
  readonly name: string;
  readonly type: string;
  readonly keySize: number;
  /** Size of one value as the kernel declares it. */
  readonly valueSize: number;
  /** Bytes a lookup returns: valueSize, or per-CPU slots times possible CPUs. */
  readonly valueBytes: number;
  readonly maxEntries: number;
  readonly fd: number;
  readonly perCpu: boolean;
  /** Returns the value, or undefined when the key is absent. */
  lookup(key: Uint8Array, out?: Uint8Array): Uint8Array | undefined;
  update(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** Returns false when the key was absent. */
  delete(key: Uint8Array): boolean;
  /** Walks keys (copies). A concurrent delete may end the walk early. */
  keys(): IterableIterator<Uint8Array>;
  entries(): IterableIterator<[Uint8Array, Uint8Array]>;
  /**
   * Reads up to `max` entries per syscall with BPF_MAP_LOOKUP_BATCH (or
   * LOOKUP_AND_DELETE_BATCH), calling `fn(key, value)` for each; buffers are
   * reused between calls, so copy what you keep. Returns the entries read.
   */
  lookupBatch(fn: (key: Uint8Array, value: Uint8Array) => void, options?: { max?: number; andDelete?: boolean }): number;
  pin(path: string): void;
  /** Sums a per-CPU u64 value (counters), or reads a plain u64. */
  sumU64(key: Uint8Array): bigint;
}

/** @internal */
export function createBpfMap(
  info: { name: string; type: string; keySize: number; valueSize: number; maxEntries: number },
  fd: number,
  isOpen: () => boolean,
): BpfMap {
  const perCpu = info.type.startsWith('percpu_') || info.type.startsWith('lru_percpu_');
  const valueBytes = perCpu ? roundUp8(info.valueSize) * native().numPossibleCpus() : info.valueSize;
  const check = (what: string): void => {
    if (!isOpen()) throw new ClosedError(`map ${info.name}`);
    void what;
  };
  const checkKey = (key: Uint8Array): void => {
    if (key.length !== info.keySize) throw new InvalidArgumentError(`map ${info.name}: key is ${key.length} bytes, expected ${info.keySize}`);
  };
  const map: BpfMap = {
    ...info,
    valueBytes,
    fd,
    perCpu,
    lookup(key, out) {
      check('lookup');
      checkKey(key);
      const value = out ?? new Uint8Array(valueBytes);
      if (value.length < valueBytes) throw new InvalidArgumentError(`map ${info.name}: value buffer is ${value.length} bytes, needs ${valueBytes}`);
      return native().mapLookup(fd, key, value, 0) ? value : undefined;
    },
    update(key, value, flags = BPF_ANY) {
      check('update');
      checkKey(key);
      if (value.length !== valueBytes) throw new InvalidArgumentError(`map ${info.name}: value is ${value.length} bytes, expected ${valueBytes}`);
      native().mapUpdate(fd, key, value, flags);
    },
    delete(key) {
      check('delete');
      checkKey(key);
      return native().mapDelete(fd, key);
    },
    *keys() {
      check('keys');
      let prev: Uint8Array | null = null;
      // Arrays have every key; a bounded walk also guards against a map
      // whose keys churn faster than we read.
      for (let i = 0; i <= info.maxEntries; i++) {
        const next = new Uint8Array(info.keySize);
        if (!native().mapNextKey(fd, prev, next)) return;
        yield next;
        prev = next;
      }
    },
    *entries() {
      for (const k of map.keys()) {
        const v = map.lookup(k);
        if (v) yield [k, v];
      }
    },
    lookupBatch(fn, options) {
      check('lookupBatch');
      const max = options?.max ?? 256;
      if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError(`map ${info.name}: batch size ${max} must be a positive integer`);
      const keys = new Uint8Array(info.keySize * max);
      const values = new Uint8Array(valueBytes * max);
      // Hash maps take a cursor of key size; arrays a u32 index.
      const cursorSize = Math.max(info.keySize, 4);
      let inBatch: Uint8Array | null = null;
      let outBatch = new Uint8Array(cursorSize);
      let total = 0;
      for (;;) {
        const res = native().mapLookupBatch(fd, inBatch, outBatch, keys, values, max, options?.andDelete ?? false);
        for (let i = 0; i < res.count; i++) {
          fn(keys.subarray(i * info.keySize, (i + 1) * info.keySize), values.subarray(i * valueBytes, (i + 1) * valueBytes));
        }
        total += res.count;
        if (res.done) return total;
        inBatch = outBatch;
        outBatch = new Uint8Array(cursorSize);
      }
    },
    pin(path) {
      check('pin');
      native().objPin(fd, path);
    },
    sumU64(key) {
      const v = map.lookup(key);
      if (!v) return 0n;
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      if (!perCpu) return dv.getBigUint64(0, true);
      let sum = 0n;
      const slot = roundUp8(info.valueSize);
      for (let off = 0; off < v.length; off += slot) sum += dv.getBigUint64(off, true);
      return sum;
    },
  };
  return map;
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}
