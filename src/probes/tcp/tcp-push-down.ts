// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP probe's part of a policy plan: latency, RTT and lifetime
 * thresholds go into the `tcp_policy` map, as do the failed-connect and
 * retransmit flags; the policy planner (src/agent/policy/policy-planner.ts)
 * decides when the kernel must stream every record instead.
 */
import type { KernelPredicate, ProbePushDown } from '../probe-module.js';

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

type TcpPush = { field: keyof TcpKernelPolicy; value: number | boolean; how: string };

/** The kernel form of one predicate, or undefined when it needs user space. */
export function tcpPushDown(p: KernelPredicate): TcpPush | undefined {
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

export const TCP_PUSH_DOWN: ProbePushDown<TcpKernelPolicy> = {
  none: () => ({ minHandshakeNs: 0, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: false, retransmits: false }),
  everything: () => ({ minHandshakeNs: 0, minSrttNs: 0, minLifetimeNs: 0, stream: true, failed: false, retransmits: false }),
  predicate(p) {
    const push = tcpPushDown(p);
    if (!push) return undefined;
    return {
      how: push.how,
      apply(k) {
        if (typeof push.value === 'boolean') k[push.field as 'failed' | 'retransmits'] = true;
        else {
          const f = push.field as 'minHandshakeNs' | 'minSrttNs' | 'minLifetimeNs';
          k[f] = k[f] === 0 ? push.value : Math.min(k[f], push.value);
        }
      },
    };
  },
  streams: (k) => k.stream,
  describe(t) {
    const flags = [t.stream ? 'STREAM' : '', t.failed ? 'FAILED' : '', t.retransmits ? 'RETRANS' : ''].filter(Boolean).join('|') || '0';
    return `tcp_policy: min_handshake_ns=${t.minHandshakeNs} min_srtt_ns=${t.minSrttNs} min_lifetime_ns=${t.minLifetimeNs} flags=${flags}`;
  },
  filteredNote: 'aggregates count everything',
};
