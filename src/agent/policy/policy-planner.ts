// SPDX-License-Identifier: Apache-2.0
/**
 * Push-down planning: decides which parts of a policy set run in the kernel.
 * The kernel filter must let through every record some rule could keep (a
 * superset); user space then evaluates every rule exactly. For TCP, latency,
 * RTT and lifetime thresholds go into the `tcp_policy` map, as do the
 * failed-connect and retransmit flags. A keep rule with nothing pushable,
 * or a default of keep, makes the kernel stream every record. Selectors that
 * depend on the cgroup alone become a per-probe cgroup allow or deny list
 * (cgroup-filter-plan.ts) when the probe has the filter map.
 */
import type { AgentProbeName } from '../agent-event.js';
import type { PolicySetSpec } from './policy.js';
import { POLICY_PROBES } from './policy-keys.js';
import { analyzeCgroupFilter } from './cgroup-filter-plan.js';
import type { CgroupFilterAnalysis, CgroupFilterPlan, CgroupFilterResolution } from './cgroup-filter-plan.js';
import { compileRule } from './policy-engine.js';
import type { CompiledRule } from './policy-engine.js';
import type { Predicate } from './predicate.js';

/** The TCP probe's `struct tcp_policy`, in agent terms. */
export interface TcpKernelPolicy {
  minHandshakeNs: number;
  minSrttNs: number;
  minLifetimeNs: number;
  /** Every connect, accept, close and signal. */
  stream: boolean;
  failed: boolean;
  retransmits: boolean;
}

export type Placement = 'kernel' | 'user space';

export interface PlacedPart {
  what: string;
  where: Placement;
  how: string;
}

export interface RulePlan {
  rule: string;
  action: string;
  probes: readonly string[];
  parts: PlacedPart[];
}

export interface PushDownPlan {
  tcp: TcpKernelPolicy;
  /** Per probe: the cgroup filter's kernel form. */
  cgroupFilters: CgroupFilterPlan[];
  rules: RulePlan[];
  /** Why the kernel filters are what they are. */
  notes: string[];
}

/** What the loaded probes can filter in the kernel. */
export interface PushDownCapabilities {
  /** Probes built with the cgroup filter maps (maxpro/cgroup_filter.bpf.h). */
  cgroupFilter: Partial<Record<AgentProbeName, boolean>>;
}

/** This build: the process probe has the cgroup filter; TCP is detected (the agent asks the loaded sources). */
export const DEFAULT_CAPABILITIES: PushDownCapabilities = { cgroupFilter: { process: true, tcp: false } };

function selectorPlacement(rule: string, probe: AgentProbeName, a: CgroupFilterAnalysis, res: CgroupFilterResolution | undefined): Omit<PlacedPart, 'what'> {
  if (a.mode === 'off') return { where: 'user space', how: a.reason };
  if (!a.rules.includes(rule)) {
    return { where: 'user space', how: `not part of the ${probe} cgroup ${a.mode} list (${a.mode === 'allow' ? 'it cannot keep records' : 'a predicate, comm/exe term or earlier keep rule'})` };
  }
  // Off for now (a fallback, suspended for live-stream subscribers, a failed write): user space filters.
  if (res?.mode === 'off') return { where: 'user space', how: `cgroup ${a.mode} list planned, but ${res.reason}` };
  const n = res ? ` (${res.ids.length} cgroups)` : ' (cgroup ids resolved at run time)';
  return { where: 'kernel', how: `cgroup ${a.mode} list${n}; labels resolve to cgroup ids in user space, which re-checks them` };
}

type TcpPush = { field: keyof TcpKernelPolicy; value: number | boolean; how: string };

/** The kernel form of one predicate, or undefined when it needs user space. */
export function tcpPushDown(p: Predicate): TcpPush | undefined {
  const lower = p.op === '>' || p.op === '>=';
  switch (p.field) {
    case 'tcp.connect.latency':
      return lower ? { field: 'minHandshakeNs', value: Math.max(1, p.value), how: `tcp_policy.min_handshake_ns = ${Math.max(1, p.value)}` } : undefined;
    case 'tcp.rtt':
      return lower ? { field: 'minSrttNs', value: Math.max(1, p.value), how: `tcp_policy.min_srtt_ns = ${Math.max(1, p.value)}` } : undefined;
    case 'tcp.lifetime':
      return lower ? { field: 'minLifetimeNs', value: Math.max(1, p.value), how: `tcp_policy.min_lifetime_ns = ${Math.max(1, p.value)}` } : undefined;
    case 'tcp.retransmits':
      return (p.op === '>' && p.value >= 0) || (p.op === '>=' && p.value >= 1) || (p.op === '!=' && p.value === 0)
        ? { field: 'retransmits', value: true, how: 'tcp_policy.flags |= TCP_POLICY_RETRANS' } : undefined;
    case 'tcp.connect.failed':
      return (p.op === '==' && p.value === 1) || (p.op === '>' && p.value === 0) || (p.op === '>=' && p.value === 1) || (p.op === '!=' && p.value === 0)
        ? { field: 'failed', value: true, how: 'tcp_policy.flags |= TCP_POLICY_FAILED' } : undefined;
    default:
      return undefined;
  }
}

export function planPushDown(set: PolicySetSpec, caps: PushDownCapabilities = DEFAULT_CAPABILITIES, resolved: readonly CgroupFilterResolution[] = []): PushDownPlan {
  const tcp: TcpKernelPolicy = { minHandshakeNs: 0, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: false, retransmits: false };
  const notes: string[] = [];
  const rules: RulePlan[] = [];
  const compiled: CompiledRule[] = set.rules.map((r) => compileRule(r));
  const cg = new Map(POLICY_PROBES.map((p) => [p, analyzeCgroupFilter(set, compiled, p, caps.cgroupFilter[p] ?? false)]));
  // A drop rule for TCP with no selector and no predicate ends TCP evaluation: rules after it never
  // see TCP records, and it acts as TCP's default.
  const catchAll = compiled.findIndex((r) => r.probes.includes('tcp') && r.spec.action === 'drop' && r.selector.terms.length === 0 && r.predicates.length === 0);
  const tcpDefault = catchAll >= 0 ? 'drop' : set.default;
  if (tcpDefault === 'keep') {
    tcp.stream = true;
    notes.push('default is keep for TCP: the TCP probe streams every record and user space applies the rules');
  } else if (catchAll >= 0) {
    notes.push(`rule ${compiled[catchAll]!.spec.name} drops every remaining TCP record: it acts as the TCP default`);
  }
  for (const [i, r] of compiled.entries()) {
    const reachableForTcp = catchAll < 0 || i <= catchAll;
    const parts: PlacedPart[] = [];
    const onTcp = r.probes.includes('tcp') && reachableForTcp;
    if (r.selector.terms.length) {
      const placed = r.probes.map((p) => ({ probe: p, ...selectorPlacement(r.spec.name, p, cg.get(p)!, resolved.find((x) => x.probe === p)) }));
      const same = placed.every((x) => x.where === placed[0]!.where && x.how === placed[0]!.how);
      for (const x of same ? placed.slice(0, 1) : placed) {
        parts.push({ what: same ? `selector ${r.selector.source}` : `selector ${r.selector.source} [${x.probe}]`, where: x.where, how: x.how });
      }
    }
    let pushedOne = false;
    for (const p of r.predicates) {
      const push = onTcp && r.spec.action === 'keep' ? tcpPushDown(p) : undefined;
      if (push) {
        parts.push({ what: p.source, where: 'kernel', how: `${push.how} (also re-checked in user space)` });
        if (!pushedOne) {
          pushedOne = true;
          if (typeof push.value === 'boolean') tcp[push.field as 'failed' | 'retransmits'] = true;
          else {
            const k = push.field as 'minHandshakeNs' | 'minSrttNs' | 'minLifetimeNs';
            tcp[k] = tcp[k] === 0 ? push.value : Math.min(tcp[k], push.value);
          }
        }
      } else {
        parts.push({ what: p.source, where: 'user space', how: r.spec.action === 'drop' ? 'drop rules are exact in user space' : 'no kernel form for this comparison' });
      }
    }
    if (r.spec.rateLimit) {
      parts.push({ what: `rate limit ${r.spec.rateLimit.perSecond}/s by ${(r.spec.rateLimit.by ?? ['cgroup']).join('+')}`, where: 'user space', how: 'token bucket per key' });
    }
    if (onTcp && r.spec.action === 'keep' && !pushedOne && !tcp.stream) {
      tcp.stream = true;
      notes.push(`rule ${r.spec.name} keeps TCP records with no kernel-side condition: the TCP probe streams every record`);
    }
    parts.push({ what: `action ${r.spec.action}`, where: 'user space', how: 'first matching rule decides' });
    rules.push({ rule: r.spec.name, action: r.spec.action, probes: r.probes, parts });
  }
  if (tcp.stream) {
    tcp.minHandshakeNs = 0; tcp.minSrttNs = 0; tcp.minLifetimeNs = 0; tcp.failed = false; tcp.retransmits = false;
  } else {
    notes.push('every TCP keep rule has a kernel condition: the TCP probe emits only records that pass one of them (aggregates count everything)');
  }
  for (const a of cg.values()) {
    const res = resolved.find((x) => x.probe === a.probe);
    notes.push(`${a.probe} cgroup filter: ${a.mode === 'off' ? 'off' : `${a.mode} list`}: ${a.reason}${a.mode !== 'off' && res?.mode === 'off' ? `; off for now: ${res.reason}` : ''}`);
  }
  const cgroupFilters = [...cg.values()].map(({ probe, mode, reason, rules: r }) => ({ probe, mode, reason, rules: r }));
  return { tcp, cgroupFilters, rules, notes };
}

/** The text `maxpro policy explain` prints; `resolved` adds the cgroup counts of this machine. */
export function formatPlan(set: PolicySetSpec, plan: PushDownPlan, resolved: readonly CgroupFilterResolution[] = []): string {
  const lines: string[] = [];
  lines.push(`default action: ${set.default}`);
  for (const r of plan.rules) {
    lines.push('', `rule ${r.rule} (${r.action}; probes: ${r.probes.join(', ')})`);
    const w = Math.max(...r.parts.map((p) => p.what.length));
    for (const p of r.parts) lines.push(`  ${p.what.padEnd(w)}  ${p.where.padEnd(10)}  ${p.how}`);
  }
  const t = plan.tcp;
  const flags = [t.stream ? 'STREAM' : '', t.failed ? 'FAILED' : '', t.retransmits ? 'RETRANS' : ''].filter(Boolean).join('|') || '0';
  lines.push('', 'kernel settings:', `  tcp_policy: min_handshake_ns=${t.minHandshakeNs} min_srtt_ns=${t.minSrttNs} min_lifetime_ns=${t.minLifetimeNs} flags=${flags}`);
  for (const c of plan.cgroupFilters) {
    const res = resolved.find((x) => x.probe === c.probe);
    const now = res ? (res.mode === 'off' ? ` (off for now: ${res.reason})` : ` (${res.ids.length} of ${res.cgroups} cgroups)`) : '';
    lines.push(`  ${c.probe} cgroup filter: ${c.mode}${c.mode === 'off' ? '' : now}`);
  }
  lines.push('', 'notes:', ...plan.notes.map((n) => `  - ${n}`));
  return lines.join('\n') + '\n';
}
