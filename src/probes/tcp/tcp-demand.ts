// SPDX-License-Identifier: Apache-2.0
/**
 * What live-stream subscribers ask of the TCP probe on top of the export
 * policy, in `tcp_policy` terms. The agent's stream computes one per
 * subscriber; the TCP source widens the kernel policy by their union.
 */

/** What live-stream subscribers need the TCP probe to send on top of the policy. */
export interface TcpDemand {
  stream?: boolean;
  failed?: boolean;
  /** Connects and accepts at least this slow (ns). */
  minHandshakeNs?: number;
}

/** The union of several demands; undefined for none. */
export function mergeTcpDemands(list: Iterable<TcpDemand>): TcpDemand | undefined {
  let out: TcpDemand | undefined;
  for (const d of list) {
    out ??= {};
    if (d.stream) out.stream = true;
    if (d.failed) out.failed = true;
    if (d.minHandshakeNs !== undefined) out.minHandshakeNs = Math.min(out.minHandshakeNs ?? Infinity, d.minHandshakeNs);
  }
  return out;
}
