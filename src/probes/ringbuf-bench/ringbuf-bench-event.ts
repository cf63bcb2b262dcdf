// SPDX-License-Identifier: Apache-2.0
/** Layout and decoder of struct ringbuf_bench_event (bpf/probes/ringbuf_bench). */
import { createCommInterner, defineLayout, readU64 } from '../../ebpf/index.js';

/** Its kind in enum maxpro_event_kind (MAXPRO_EV_BENCH). */
export const RINGBUF_BENCH_EVENT_KIND = 250;

export const RINGBUF_BENCH_EVENT = defineLayout('ringbuf_bench', 'ringbuf_bench_event', 64, {
  hdr: { offset: 0, size: 16 },
  pid: { offset: 16, size: 4 },
  tid: { offset: 20, size: 4 },
  cgroup_id: { offset: 24, size: 8 },
  seq: { offset: 32, size: 8 },
  syscall_nr: { offset: 40, size: 8 },
  comm: { offset: 48, size: 16 },
});

export interface RingbufBenchEvent {
  bootNs: number;
  pid: number;
  tid: number;
  cgroupId: number;
  seq: number;
  syscallNr: number;
  comm: string;
}

const F = RINGBUF_BENCH_EVENT.fields;
const comms = createCommInterner();

/** Decodes one record in place into `out` (reused by the caller). No BigInt, no per-event string building. */
export function decodeRingbufBenchEvent(view: DataView, off: number, bytes: Uint8Array, out: RingbufBenchEvent): RingbufBenchEvent {
  out.bootNs = readU64(view, off + 8);
  out.pid = view.getUint32(off + F.pid.offset, true);
  out.tid = view.getUint32(off + F.tid.offset, true);
  out.cgroupId = readU64(view, off + F.cgroup_id.offset);
  out.seq = readU64(view, off + F.seq.offset);
  out.syscallNr = view.getUint32(off + F.syscall_nr.offset, true);
  out.comm = comms.read(view, bytes, off + F.comm.offset);
  return out;
}
