// SPDX-License-Identifier: Apache-2.0
/**
 * Keeps a probe's aggregation map across agent restarts through bpffs.
 *
 * The live map is pinned at `<pinDir>/<map>` right after the probe loads, so
 * its counts survive the agent (a crash included). On the next start the
 * pinned map of the previous run is opened (by loading the probe's object
 * once more with no programs and the pin path set, which makes libbpf reuse
 * the pinned map), its entries are read, and they are carried into the new
 * probe's map: entries the new probe has not created yet are inserted with
 * BPF_NOEXIST (no race with the programs); the few it already created keep
 * the old values as a user-space baseline, added at read time and folded
 * into the map on an orderly shutdown once the programs are detached.
 * Every value is a sequence of u64 counters, so carrying is element-wise.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BPF_NOEXIST, openObjectFile } from '../../ebpf/index.js';
import type { BpfMap, BpfObject } from '../../ebpf/index.js';
import { InvalidArgumentError } from '../../lib/errors.js';

export interface PinnedAggregateStats {
  /** Entries found in the previous run's pinned map. */
  restored: number;
  /** Of which inserted straight into the new map. */
  inserted: number;
  /** Of which kept as a user-space baseline (the key existed already). */
  baseline: number;
}

export interface PinnedAggregates {
  readonly path: string;
  stats(): PinnedAggregateStats;
  /** The baseline of a key (raw value bytes), when one is held in user space. */
  baselineOf(key: Uint8Array): Uint8Array | undefined;
  /** Adds every baseline into the map (call with the programs detached) and forgets them. */
  foldBaseline(): void;
  /** Unpins the live map (when the agent does not keep its pins). */
  unpin(): void;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Adds b into a, both as little-endian u64 arrays. */
export function addU64(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength !== b.byteLength || a.byteLength % 8 !== 0) throw new InvalidArgumentError(`addU64: ${a.byteLength} and ${b.byteLength} bytes`);
  const out = new Uint8Array(a);
  const va = new DataView(out.buffer), vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.byteLength; i += 8) va.setBigUint64(i, va.getBigUint64(i, true) + vb.getBigUint64(i, true), true);
  return out;
}

/** Reads every entry of the map pinned at `path` by loading `objectPath` without programs. */
function readPinned(objectPath: string, mapName: string, path: string, maxEntries: number): [Uint8Array, Uint8Array][] {
  const spec = openObjectFile(objectPath, `${mapName}-restore`);
  let obj: BpfObject;
  try {
    for (const p of spec.programs) spec.setAutoload(p.name, false);
    spec.setMaxEntries(mapName, maxEntries);
    spec.setPinPath(mapName, path);
    obj = spec.load();
  } catch (err) {
    spec.close();
    throw err;
  }
  try {
    return [...obj.map(mapName).entries()].map(([k, v]) => [new Uint8Array(k), new Uint8Array(v)]);
  } finally {
    obj.close();
  }
}

/**
 * Carries the previous run's pinned `mapName` into `live` and pins `live` in
 * its place. May throw the load errors of the helper object, or
 * `SyscallError` when pinning fails.
 */
export function restoreAndPin(options: { objectPath: string; mapName: string; pinDir: string; live: BpfMap }): PinnedAggregates {
  const { live, mapName } = options;
  const path = join(options.pinDir, mapName);
  const baseline = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  const stats: PinnedAggregateStats = { restored: 0, inserted: 0, baseline: 0 };
  if (existsSync(path)) {
    const old = readPinned(options.objectPath, mapName, path, live.maxEntries);
    // A bpffs pin is a file: unlinking it drops the pin (the map goes with its last reference).
    rmSync(path, { force: true });
    for (const [key, value] of old) {
      stats.restored++;
      try {
        live.update(key, value, BPF_NOEXIST);
        stats.inserted++;
      } catch {
        // Created by the new programs in the meantime (or the map is full): keep it in user space.
        baseline.set(hex(key), { key, value });
        stats.baseline++;
      }
    }
  }
  live.pin(path);
  return {
    path,
    stats: () => ({ ...stats }),
    baselineOf: (key) => baseline.get(hex(key))?.value,
    foldBaseline() {
      for (const { key, value } of baseline.values()) {
        const cur = live.lookup(key);
        live.update(key, cur ? addU64(cur, value) : value);
      }
      baseline.clear();
    },
    unpin: () => rmSync(path, { force: true }),
  };
}
