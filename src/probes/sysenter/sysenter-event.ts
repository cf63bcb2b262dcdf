// SPDX-License-Identifier: Apache-2.0
/** Layout and decoder of struct sysenter_event (bpf/probes/sysenter/sysenter.h). */
import { createCommInterner, defineLayout, readU64 } from '../../ebpf/index.js';

/** Its kinds in enum maxpro_event_kind (MAXPRO_EV_SYSCALL_*). */
export const SYSENTER_EVENT_KIND = { enter: 240 } as const;
export const SYSENTER_EVENT_VERSION = 1;

export const SYSENTER_EVENT = defineLayout('sysenter', 'sysenter_event', 56, {
  hdr: { offset: 0, size: 16 },
  pid: { offset: 16, size: 4 },
  tid: { offset: 20, size: 4 },
  cgroup_id: { offset: 24, size: 8 },
  syscall_nr: { offset: 32, size: 8 },
  comm: { offset: 40, size: 16 },
});

export interface SyscallEvent {
  bootNs: number;
  pid: number;
  tid: number;
  cgroupId: number;
  syscallNr: number;
  comm: string;
}

const F = SYSENTER_EVENT.fields;
const comms = createCommInterner();

/** Decodes one record (no BigInt, comms interned). */
export function decodeSyscallEvent(view: DataView, off: number, bytes: Uint8Array): SyscallEvent {
  return {
    bootNs: readU64(view, off + 8),
    pid: view.getUint32(off + F.pid.offset, true),
    tid: view.getUint32(off + F.tid.offset, true),
    cgroupId: readU64(view, off + F.cgroup_id.offset),
    syscallNr: view.getUint32(off + F.syscall_nr.offset, true),
    comm: comms.read(view, bytes, off + F.comm.offset),
  };
}
