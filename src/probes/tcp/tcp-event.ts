// SPDX-License-Identifier: Apache-2.0
/**
 * Layouts and decoders of the TCP probe's records (bpf/probes/tcp/tcp.h):
 * struct tcp_conn_event (connect, accept, close, failed connect) and struct
 * tcp_signal_event (retransmit, reset, drop).
 */
import { defineLayout, readCString } from '../../ebpf/index.js';

/** Event kinds of enum maxpro_event_kind owned by this probe. */
export const TCP_EVENT_KIND = {
  connect: 32,
  accept: 33,
  close: 34,
  connectFailed: 35,
  retransmit: 36,
  synackRetransmit: 37,
  resetSent: 38,
  resetReceived: 39,
  drop: 40,
} as const;
export type TcpEventKindName = keyof typeof TCP_EVENT_KIND;

export const TCP_CONN_EVENT = defineLayout('tcp', 'tcp_conn_event', 152, {
  hdr: { offset: 0, size: 16 },
  cgroup_id: { offset: 16, size: 8 },
  handshake_ns: { offset: 24, size: 8 },
  lifetime_ns: { offset: 32, size: 8 },
  bytes_acked: { offset: 40, size: 8 },
  bytes_received: { offset: 48, size: 8 },
  tgid: { offset: 56, size: 4 },
  pid: { offset: 60, size: 4 },
  segs_out: { offset: 64, size: 4 },
  segs_in: { offset: 68, size: 4 },
  srtt_us: { offset: 72, size: 4 },
  rttvar_us: { offset: 76, size: 4 },
  total_retrans: { offset: 80, size: 4 },
  err: { offset: 84, size: 4 },
  netns: { offset: 88, size: 4 },
  sport: { offset: 92, size: 2 },
  dport: { offset: 94, size: 2 },
  family: { offset: 96, size: 2 },
  dir: { offset: 98, size: 1 },
  oldstate: { offset: 99, size: 1 },
  saddr: { offset: 100, size: 16 },
  daddr: { offset: 116, size: 16 },
  comm: { offset: 132, size: 16 },
});

export const TCP_SIGNAL_EVENT = defineLayout('tcp', 'tcp_signal_event', 80, {
  hdr: { offset: 0, size: 16 },
  cgroup_id: { offset: 16, size: 8 },
  tgid: { offset: 24, size: 4 },
  pid: { offset: 28, size: 4 },
  reason: { offset: 32, size: 4 },
  netns: { offset: 36, size: 4 },
  sport: { offset: 40, size: 2 },
  dport: { offset: 42, size: 2 },
  family: { offset: 44, size: 2 },
  state: { offset: 46, size: 1 },
  tcpflags: { offset: 47, size: 1 },
  saddr: { offset: 48, size: 16 },
  daddr: { offset: 64, size: 16 },
});

export const AF_INET = 2;
export const AF_INET6 = 10;

/** Names of the kernel's TCP states (include/net/tcp_states.h), by number. */
export const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'] as const;

/** A connection record. Times in ns, addresses as text. */
export interface TcpConnEvent {
  type: 'connect' | 'accept' | 'close' | 'connectFailed';
  bootNs: bigint;
  cgroupId: bigint;
  /** Client: SYN_SENT -> ESTABLISHED. Server: SYN-ACK -> ACK round trip (0 when unmeasured). */
  handshakeNs: number;
  /** Close and failed connect only. */
  lifetimeNs: number;
  bytesAcked: number;
  bytesReceived: number;
  tgid: number;
  pid: number;
  segsOut: number;
  segsIn: number;
  srttUs: number;
  rttvarUs: number;
  totalRetrans: number;
  /** Negative errno (e.g. -111 refused), or 0. */
  err: number;
  netns: number;
  family: 4 | 6;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  dir: 'client' | 'server';
  oldState: string;
  comm: string;
}

/** A retransmit, reset or drop. */
export interface TcpSignalEvent {
  type: 'retransmit' | 'synackRetransmit' | 'resetSent' | 'resetReceived' | 'drop';
  bootNs: bigint;
  cgroupId: bigint;
  tgid: number;
  pid: number;
  /** skb_drop_reason for drops, sk_rst_reason for resets sent. */
  reason: number;
  netns: number;
  /** 0 when unknown. */
  family: 0 | 4 | 6;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  state: string;
  tcpFlags: number;
}

export type TcpEvent = TcpConnEvent | TcpSignalEvent;

const CONN_TYPES: Record<number, TcpConnEvent['type']> = { 32: 'connect', 33: 'accept', 34: 'close', 35: 'connectFailed' };
const SIGNAL_TYPES: Record<number, TcpSignalEvent['type']> = { 36: 'retransmit', 37: 'synackRetransmit', 38: 'resetSent', 39: 'resetReceived', 40: 'drop' };

/** Formats an address of `family` from 16 bytes at `off`. */
export function formatAddress(bytes: Uint8Array, off: number, family: number): string {
  if (family === AF_INET) return `${bytes[off]}.${bytes[off + 1]}.${bytes[off + 2]}.${bytes[off + 3]}`;
  if (family !== AF_INET6) return '';
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[off + i]! << 8) | bytes[off + i + 1]!);
  // IPv4-mapped (::ffff:a.b.c.d)
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[off + 12]}.${bytes[off + 13]}.${bytes[off + 14]}.${bytes[off + 15]}`;
  }
  // Longest run of zero words becomes '::' (RFC 5952).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

const C = TCP_CONN_EVENT.fields;
const S = TCP_SIGNAL_EVENT.fields;

/** The record kind at `off` (the header's first byte). */
export function tcpEventKind(view: DataView, off: number): number {
  return view.getUint8(off);
}

/** Decodes a tcp_conn_event; undefined for another kind. */
export function decodeTcpConnEvent(view: DataView, off: number, bytes: Uint8Array): TcpConnEvent | undefined {
  const type = CONN_TYPES[view.getUint8(off)];
  if (!type) return undefined;
  const family = view.getUint16(off + C.family.offset, true);
  return {
    type,
    bootNs: view.getBigUint64(off + 8, true),
    cgroupId: view.getBigUint64(off + C.cgroup_id.offset, true),
    handshakeNs: Number(view.getBigUint64(off + C.handshake_ns.offset, true)),
    lifetimeNs: Number(view.getBigUint64(off + C.lifetime_ns.offset, true)),
    bytesAcked: Number(view.getBigUint64(off + C.bytes_acked.offset, true)),
    bytesReceived: Number(view.getBigUint64(off + C.bytes_received.offset, true)),
    tgid: view.getUint32(off + C.tgid.offset, true),
    pid: view.getUint32(off + C.pid.offset, true),
    segsOut: view.getUint32(off + C.segs_out.offset, true),
    segsIn: view.getUint32(off + C.segs_in.offset, true),
    srttUs: view.getUint32(off + C.srtt_us.offset, true),
    rttvarUs: view.getUint32(off + C.rttvar_us.offset, true),
    totalRetrans: view.getUint32(off + C.total_retrans.offset, true),
    err: view.getInt32(off + C.err.offset, true),
    netns: view.getUint32(off + C.netns.offset, true),
    family: family === AF_INET6 ? 6 : 4,
    saddr: formatAddress(bytes, off + C.saddr.offset, family),
    sport: view.getUint16(off + C.sport.offset, true),
    daddr: formatAddress(bytes, off + C.daddr.offset, family),
    dport: view.getUint16(off + C.dport.offset, true),
    dir: view.getUint8(off + C.dir.offset) === 1 ? 'server' : 'client',
    oldState: TCP_STATES[view.getUint8(off + C.oldstate.offset)] ?? String(view.getUint8(off + C.oldstate.offset)),
    comm: readCString(bytes, off + C.comm.offset, 16),
  };
}

/** Decodes a tcp_signal_event; undefined for another kind. */
export function decodeTcpSignalEvent(view: DataView, off: number, bytes: Uint8Array): TcpSignalEvent | undefined {
  const type = SIGNAL_TYPES[view.getUint8(off)];
  if (!type) return undefined;
  const family = view.getUint16(off + S.family.offset, true);
  const state = view.getUint8(off + S.state.offset);
  return {
    type,
    bootNs: view.getBigUint64(off + 8, true),
    cgroupId: view.getBigUint64(off + S.cgroup_id.offset, true),
    tgid: view.getUint32(off + S.tgid.offset, true),
    pid: view.getUint32(off + S.pid.offset, true),
    reason: view.getUint32(off + S.reason.offset, true),
    netns: view.getUint32(off + S.netns.offset, true),
    family: family === AF_INET6 ? 6 : family === AF_INET ? 4 : 0,
    saddr: formatAddress(bytes, off + S.saddr.offset, family),
    sport: view.getUint16(off + S.sport.offset, true),
    daddr: formatAddress(bytes, off + S.daddr.offset, family),
    dport: view.getUint16(off + S.dport.offset, true),
    state: state === 0 ? '' : TCP_STATES[state] ?? String(state),
    tcpFlags: view.getUint8(off + S.tcpflags.offset),
  };
}

/** Decodes either record type; undefined for a kind this probe does not own. */
export function decodeTcpEvent(view: DataView, off: number, bytes: Uint8Array): TcpEvent | undefined {
  return decodeTcpConnEvent(view, off, bytes) ?? decodeTcpSignalEvent(view, off, bytes);
}
