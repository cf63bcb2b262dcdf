// SPDX-License-Identifier: Apache-2.0
/**
 * The user-space side of bpf/include/maxpro/cgroup_filter.bpf.h: sets a
 * probe's cgroup filter mode and id set and reads what it filtered. Any probe
 * whose BPF object includes the header gets one with
 * `createCgroupFilter({ object })`.
 *
 * Updates are ordered so that at every instant the kernel lets through at
 * least what the old or the new setting lets through (a record filtered here
 * is gone; one let through is filtered exactly in user space):
 * - allow -> allow: add the new ids, raise known_max_id, then remove stale ids;
 * - deny -> deny: remove ids no longer denied, then add the new ones;
 * - to a different mode: mode off first, then the ids, then the new mode;
 * - when old and new ids together would overflow the map, or a map update
 *   fails, the same way through off (a failure leaves the filter off).
 */
import { bpfObjectPath, openObjectFile } from '../ebpf/index.js';
import type { BpfMap, BpfObject } from '../ebpf/index.js';
import { InvalidArgumentError } from '../lib/errors.js';

export const CGROUP_FILTER_MODES = ['off', 'allow', 'deny'] as const;
export type CgroupFilterMode = (typeof CGROUP_FILTER_MODES)[number];

/** Indexes of maxpro_cgf_stat: why the kernel filtered a record. */
export const CGROUP_FILTER_REASONS = ['cgroup_not_allowed', 'cgroup_denied'] as const;
export type CgroupFilterReason = (typeof CGROUP_FILTER_REASONS)[number];

/** MAXPRO_CGF_MAX_IDS: the id map's size (a unit test compares it with the object). */
export const CGROUP_FILTER_MAX_IDS = 8192;

/** Map names in the header. */
const MODE_MAP = 'maxpro_cgf_mode';
const IDS_MAP = 'maxpro_cgroup_filter';
const STAT_MAP = 'maxpro_cgf_stat';
/** struct maxpro_cgroup_filter_cfg: u32 mode, u32 pad, u64 known_max_id. */
const CFG_BYTES = 16;
const MODE_VALUE: Record<CgroupFilterMode, number> = { off: 0, allow: 1, deny: 2 };

export interface CgroupFilterSetting {
  mode: CgroupFilterMode;
  /** Cgroup v2 ids: allowed (allow) or denied (deny); ignored for off. */
  ids: Iterable<number>;
  /**
   * Allow mode: the highest id user space has classified. Larger ids belong
   * to cgroups created since, and pass until the next setting covers them.
   */
  knownMaxId?: number;
}

export interface CgroupFilterState {
  mode: CgroupFilterMode;
  ids: number;
  knownMaxId: number;
}

export interface CgroupFilter {
  /** Most ids the kernel map holds. */
  readonly capacity: number;
  state(): CgroupFilterState;
  /**
   * Replaces the setting (see the ordering above). May throw
   * `InvalidArgumentError` (bad id, more ids than `capacity`; nothing
   * changed) or a map error (the filter is then off).
   */
  set(setting: CgroupFilterSetting): void;
  /** Records the kernel filtered out since load, by reason (summed over CPUs). */
  filtered(): Record<CgroupFilterReason, number>;
}

export interface CgroupFilterOptions {
  /** A loaded object built with maxpro/cgroup_filter.bpf.h. */
  object: BpfObject;
}

/** True when the object was built with the cgroup filter header. */
export function hasCgroupFilter(object: BpfObject): boolean {
  return object.maps.has(MODE_MAP) && object.maps.has(IDS_MAP) && object.maps.has(STAT_MAP);
}

/**
 * True when the built object of `probe` (bpf/.output/<probe>.bpf.o) declares
 * the filter maps; false when it does not, is not built, or cannot be read.
 * Opens the ELF only: needs no privilege.
 */
export function probeBuiltWithCgroupFilter(probe: string): boolean {
  try {
    const spec = openObjectFile(bpfObjectPath(probe), probe);
    try {
      const names = new Set(spec.maps.map((m) => m.name));
      return names.has(MODE_MAP) && names.has(IDS_MAP) && names.has(STAT_MAP);
    } finally {
      spec.close();
    }
  } catch {
    return false;
  }
}

function idKey(id: number): Uint8Array {
  const key = new Uint8Array(8);
  const dv = new DataView(key.buffer);
  dv.setUint32(0, id % 2 ** 32, true);
  dv.setUint32(4, Math.floor(id / 2 ** 32), true);
  return key;
}

/** May throw `NotFoundError` when the object lacks the header's maps. */
export function createCgroupFilter(options: CgroupFilterOptions): CgroupFilter {
  const { object } = options;
  const modeMap: BpfMap = object.map(MODE_MAP);
  const idsMap: BpfMap = object.map(IDS_MAP);
  const statMap: BpfMap = object.map(STAT_MAP);
  const capacity = idsMap.maxEntries;
  const one = new Uint8Array([1]);
  const zeroKey = new Uint8Array(4);
  // The kernel copy is written only from here, so this mirror is exact.
  let mode: CgroupFilterMode = 'off';
  let knownMaxId = 0;
  const ids = new Set<number>();

  const writeCfg = (m: CgroupFilterMode, maxId: number): void => {
    const v = new Uint8Array(CFG_BYTES);
    const dv = new DataView(v.buffer);
    dv.setUint32(0, MODE_VALUE[m], true);
    dv.setUint32(8, maxId % 2 ** 32, true);
    dv.setUint32(12, Math.floor(maxId / 2 ** 32), true);
    modeMap.update(zeroKey, v);
    mode = m;
    knownMaxId = maxId;
  };
  const add = (id: number): void => {
    if (ids.has(id)) return;
    idsMap.update(idKey(id), one);
    ids.add(id);
  };
  const remove = (id: number): void => {
    idsMap.delete(idKey(id));
    ids.delete(id);
  };

  const apply = (next: CgroupFilterMode, want: Set<number>, maxId: number): void => {
    if (next === 'off') {
      writeCfg('off', 0);
      for (const id of [...ids]) remove(id);
      return;
    }
    let union = ids.size;
    for (const id of want) if (!ids.has(id)) union++;
    if (next !== mode || union > capacity) {
      writeCfg('off', 0);
      for (const id of [...ids]) if (!want.has(id)) remove(id);
      for (const id of want) add(id);
      writeCfg(next, maxId);
    } else if (next === 'allow') {
      for (const id of want) add(id);
      // Monotonic: a reader that sees an older value lets more through.
      writeCfg('allow', Math.max(knownMaxId, maxId));
      for (const id of [...ids]) if (!want.has(id)) remove(id);
    } else {
      for (const id of [...ids]) if (!want.has(id)) remove(id);
      for (const id of want) add(id);
      writeCfg('deny', maxId);
    }
  };

  return {
    capacity,
    state: () => ({ mode, ids: ids.size, knownMaxId }),
    set(setting) {
      const want = new Set<number>();
      if (setting.mode !== 'off') {
        for (const id of setting.ids) {
          if (!Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError(`cgroup filter: ${id} is not a cgroup id`);
          want.add(id);
        }
      }
      if (want.size > capacity) throw new InvalidArgumentError(`cgroup filter: ${want.size} cgroup ids exceed the map's ${capacity}`);
      const maxId = setting.knownMaxId ?? 0;
      if (!Number.isSafeInteger(maxId) || maxId < 0) throw new InvalidArgumentError(`cgroup filter: knownMaxId ${maxId} is not a cgroup id`);
      try {
        apply(setting.mode, want, maxId);
      } catch (err) {
        // Never leave a half-written list in force.
        try {
          writeCfg('off', 0);
        } catch { /* the object is gone: nothing filters */ }
        throw err;
      }
    },
    filtered() {
      const out = {} as Record<CgroupFilterReason, number>;
      const key = new Uint8Array(4);
      const dv = new DataView(key.buffer);
      CGROUP_FILTER_REASONS.forEach((r, i) => {
        dv.setUint32(0, i, true);
        out[r] = Number(statMap.sumU64(key));
      });
      return out;
    },
  };
}
