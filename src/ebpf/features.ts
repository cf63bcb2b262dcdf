// SPDX-License-Identifier: Apache-2.0
/**
 * Cached feature probes. Only conclusive answers are cached: an inconclusive
 * probe (e.g. EPERM without privileges) is asked again next time.
 */
import { NotSupportedError } from '../lib/errors.js';
import { native } from './native.js';
import { errnoName } from './errno.js';

export type FeatureResult = { supported: true } | { supported: false; reason: string };

const cache = new Map<string, FeatureResult>();

function probe(key: string, run: () => number): FeatureResult {
  const hit = cache.get(key);
  if (hit) return hit;
  const r = run();
  if (r === 1) {
    const res: FeatureResult = { supported: true };
    cache.set(key, res);
    return res;
  }
  if (r === 0) {
    const res: FeatureResult = { supported: false, reason: `${key}: not supported by this kernel` };
    cache.set(key, res);
    return res;
  }
  return { supported: false, reason: `${key}: probe inconclusive (${errnoName(-r)})` };
}

/** e.g. haveProgramType('tracing'). */
export function haveProgramType(type: string): FeatureResult {
  return probe(`prog:${type}`, () => native().probeProgType(type));
}

/** e.g. haveMapType('ringbuf'). */
export function haveMapType(type: string): FeatureResult {
  return probe(`map:${type}`, () => native().probeMapType(type));
}

/** e.g. haveHelper('kprobe', BPF_FUNC_ringbuf_query). */
export function haveHelper(progType: string, helperId: number): FeatureResult {
  return probe(`helper:${progType}:${helperId}`, () => native().probeHelper(progType, helperId));
}

/**
 * How many arguments the running kernel's tracepoint `name` hands to a
 * tp_btf/raw_tp program (from its BTF prototype), or undefined when the
 * kernel's BTF does not describe it. Tracepoints gain arguments across
 * releases (e.g. sched_process_exit's group_dead), so a probe picks the
 * program that matches.
 */
export function tracepointArgCount(name: string): number | undefined {
  const key = `tp-args:${name}`;
  const hit = argCounts.get(key);
  if (hit !== undefined) return hit;
  const r = native().tracepointArgCount(name);
  if (r < 0) return undefined;
  argCounts.set(key, r);
  return r;
}
const argCounts = new Map<string, number>();

/**
 * The values of enum `name` in the running kernel's BTF (value -> name), or
 * undefined when the kernel's BTF has no such enum. Readable by any user,
 * unlike tracefs.
 */
export function kernelEnum(name: string): Map<number, string> | undefined {
  const r = native().btfEnumValues(name);
  if (typeof r === 'number') return undefined;
  return new Map(r.map(([k, v]) => [v, k]));
}

/** Throws `NotSupportedError` naming the feature when it is missing. */
export function requireFeature(feature: string, result: FeatureResult, minKernel?: string): void {
  if (!result.supported) throw new NotSupportedError(feature, result.reason, minKernel ? { minKernel } : undefined);
}

/** Helper ids used by MaxPro probes (include/uapi/linux/bpf.h). */
export const BPF_FUNC = { ringbuf_output: 130, ringbuf_reserve: 131, ringbuf_query: 134, ktime_get_boot_ns: 125, get_current_cgroup_id: 80 } as const;
