// SPDX-License-Identifier: Apache-2.0
/**
 * Keeps a probe's aggregation map across agent restarts through bpffs.
 *
 * The live map is pinned at `<pinDir>/<map>` once the probe's programs are
 * attached, so its counts survive the agent (a crash included; the pinned
 * links of tcp-pins.ts keep the programs counting into it meanwhile). On the
 * next start the pinned map of the previous run is opened (by loading the
 * probe's object once more with no programs and the pin path set, which
 * makes libbpf reuse the pinned map) before the new programs attach. Once the
 * previous run's programs are detached its entries are read and carried into
 * the new probe's map, still empty then: entries the map has no room for
 * keep the old values as a user-space baseline, added at read time and
 * folded into the map on an orderly shutdown once the programs are detached.
 * Every value is a sequence of u64 counters, so carrying is element-wise.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BPF_NOEXIST, openObjectFile } from '../ebpf/index.js';
import type { BpfMap, BpfObject } from '../ebpf/index.js';
import { InvalidArgumentError } from '../lib/errors.js';

export interface PinnedAggregateStats {
  /** Entries found in the previous run's pinned map. */
  restored: number;
  /** Of which inserted straight into the new map. */
  inserted: number;
  /** Of which kept as a user-space baseline (no room in the new map). */
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

/** The previous run's pinned maps, opened before the new programs attach. */
export interface PreviousRun {
  /** Every entry of a map opened by `openPreviousRun` (copies). */
  entries(mapName: string): [Uint8Array, Uint8Array][];
  close(): void;
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

/**
 * Opens the maps `<pinDir>/<name>` that exist (of `maps`: name -> max
 * entries) by loading `objectPath` without programs; undefined when none is
 * pinned. May throw the load errors of the helper object.
 */
export function openPreviousRun(options: { objectPath: string; pinDir: string; maps: Record<string, number> }): PreviousRun | undefined {
  const present = Object.entries(options.maps).filter(([name]) => existsSync(join(options.pinDir, name)));
  if (present.length === 0) return undefined;
  const spec = openObjectFile(options.objectPath, 'pinned-restore');
  let obj: BpfObject;
  try {
    for (const p of spec.programs) spec.setAutoload(p.name, false);
    for (const [name, maxEntries] of present) {
      spec.setMaxEntries(name, maxEntries);
      spec.setPinPath(name, join(options.pinDir, name));
    }
    obj = spec.load();
  } catch (err) {
    spec.close();
    throw err;
  }
  const opened = new Set(present.map(([n]) => n));
  return {
    entries: (name) => (opened.has(name) ? [...obj.map(name).entries()].map(([k, v]) => [new Uint8Array(k), new Uint8Array(v)]) : []),
    close: () => obj.close(),
  };
}

/**
 * Carries `old` (the previous run's entries) into `live` and pins `live` at
 * `<pinDir>/<mapName>` in place of the previous pin. Call before the new
 * programs attach, so every entry goes straight into the map. May throw
 * `SyscallError` when pinning fails.
 */
export function carryAndPin(options: { mapName: string; pinDir: string; live: BpfMap; old: [Uint8Array, Uint8Array][] }): PinnedAggregates {
  const { live, mapName } = options;
  const path = join(options.pinDir, mapName);
  const baseline = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  const stats: PinnedAggregateStats = { restored: 0, inserted: 0, baseline: 0 };
  for (const [key, value] of options.old) {
    stats.restored++;
    try {
      live.update(key, value, BPF_NOEXIST);
      stats.inserted++;
    } catch {
      // The map is full (a smaller maxAggregates than before): keep it in user space.
      baseline.set(hex(key), { key, value });
      stats.baseline++;
    }
  }
  // A bpffs pin is a file: unlinking it drops the pin (the map goes with its last reference).
  rmSync(path, { force: true });
  live.pin(path);
  return {
    path,
    stats: () => ({ ...stats }),
    baselineOf: (key) => baseline.get(hex(key))?.value,
    foldBaseline() {
      for (const { key, value } of baseline.values()) {
        const cur = live.lookup(key);
        try {
          live.update(key, cur ? addU64(cur, value) : value);
          baseline.delete(hex(key));
        } catch {
          // Still no room: the baseline is lost with this process, as the log line at start said.
        }
      }
    },
    unpin: () => rmSync(path, { force: true }),
  };
}
