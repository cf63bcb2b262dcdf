// SPDX-License-Identifier: Apache-2.0
/**
 * The capabilities this process holds, and which one a refused bpf(),
 * perf_event_open() or attach most likely lacked, so a permission error names
 * what to grant instead of a bare EPERM/EACCES.
 */
import { readFileSync } from 'node:fs';

/** Capability bits (include/uapi/linux/capability.h) the agent's operations depend on. */
export const CAP = {
  CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_NET_ADMIN: 12, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24, CAP_PERFMON: 38, CAP_BPF: 39,
} as const;
export type CapName = keyof typeof CAP;

/** The effective capability set of this process (or of a /proc/<pid>/status text). */
export function effectiveCaps(statusText?: string): Set<CapName> {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      text = '';
    }
  }
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(text)?.[1] ?? '0';
  const bits = BigInt(`0x${hex}`);
  const out = new Set<CapName>();
  for (const [name, bit] of Object.entries(CAP) as [CapName, number][]) {
    if ((bits >> BigInt(bit)) & 1n) out.add(name);
  }
  return out;
}

/** What an operation needs, in the order the kernel checks it (CAP_SYS_ADMIN stands in for BPF and PERFMON). */
const NEEDS: Record<string, CapName[]> = {
  // Tracing program types and their perf_event-based links.
  tracing: ['CAP_BPF', 'CAP_PERFMON'],
  // XDP and TC programs, and attaching to a cgroup.
  network: ['CAP_BPF', 'CAP_NET_ADMIN'],
  // Maps, socket filters and other program types.
  bpf: ['CAP_BPF'],
};

/** Hook kinds and program types the agent uses, by what they need. */
const KIND: Record<string, keyof typeof NEEDS> = {
  tracepoint: 'tracing', tp: 'tracing', raw_tracepoint: 'tracing', raw_tp: 'tracing', tp_btf: 'tracing', tracing: 'tracing',
  kprobe: 'tracing', uprobe: 'tracing', perf_event: 'tracing', fentry: 'tracing', fexit: 'tracing',
  xdp: 'network', tc: 'network', sched_cls: 'network', sched_act: 'network', cgroup: 'network',
};

/**
 * The capability a refused operation on `kinds` (hook kinds or program
 * types) most likely lacked, given `caps`; undefined when every one is held
 * (the refusal has another cause: an LSM, lockdown, a seccomp profile).
 */
export function missingCapability(kinds: readonly string[], caps: ReadonlySet<CapName> = effectiveCaps()): CapName | undefined {
  const admin = caps.has('CAP_SYS_ADMIN');
  const needed = new Set<CapName>(['CAP_BPF']);
  for (const k of kinds) for (const c of NEEDS[KIND[k] ?? 'bpf']!) needed.add(c);
  for (const c of ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN'] as const) {
    if (!needed.has(c) || caps.has(c)) continue;
    if (admin && c !== 'CAP_NET_ADMIN') continue;
    return c;
  }
  return undefined;
}
