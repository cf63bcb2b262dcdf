// SPDX-License-Identifier: Apache-2.0
/**
 * Layouts and decoders of the process probe's events
 * (bpf/probes/process/process.h). Decoders read straight from the batch
 * DataView and return one plain object per event.
 */
import { defineLayout, readCString } from '../../ebpf/index.js';

export const PROCESS_EXEC_EVENT = defineLayout('process', 'process_exec_event', 112, {
  hdr: { offset: 0, size: 16 },
  pid: { offset: 16, size: 4 },
  tid: { offset: 20, size: 4 },
  ppid: { offset: 24, size: 4 },
  old_tid: { offset: 28, size: 4 },
  uid: { offset: 32, size: 4 },
  gid: { offset: 36, size: 4 },
  euid: { offset: 40, size: 4 },
  egid: { offset: 44, size: 4 },
  cgroup_id: { offset: 48, size: 8 },
  mntns_id: { offset: 56, size: 4 },
  pidns_id: { offset: 60, size: 4 },
  ns_pid: { offset: 64, size: 4 },
  argc: { offset: 68, size: 4 },
  retval: { offset: 72, size: 4 },
  filename_len: { offset: 76, size: 4 },
  args_len: { offset: 80, size: 4 },
  args_total: { offset: 84, size: 4 },
  start_boot_ns: { offset: 88, size: 8 },
  comm: { offset: 96, size: 16 },
});

export const PROCESS_FORK_EVENT = defineLayout('process', 'process_fork_event', 80, {
  hdr: { offset: 0, size: 16 },
  pid: { offset: 16, size: 4 },
  tid: { offset: 20, size: 4 },
  ppid: { offset: 24, size: 4 },
  ns_pid: { offset: 28, size: 4 },
  uid: { offset: 32, size: 4 },
  gid: { offset: 36, size: 4 },
  mntns_id: { offset: 40, size: 4 },
  pidns_id: { offset: 44, size: 4 },
  cgroup_id: { offset: 48, size: 8 },
  start_boot_ns: { offset: 56, size: 8 },
  comm: { offset: 64, size: 16 },
});

export const PROCESS_EXIT_EVENT = defineLayout('process', 'process_exit_event', 72, {
  hdr: { offset: 0, size: 16 },
  pid: { offset: 16, size: 4 },
  tid: { offset: 20, size: 4 },
  ppid: { offset: 24, size: 4 },
  exit_code: { offset: 28, size: 4 },
  start_boot_ns: { offset: 32, size: 8 },
  lifetime_ns: { offset: 40, size: 8 },
  cgroup_id: { offset: 48, size: 8 },
  comm: { offset: 56, size: 16 },
});

/** Event kinds (enum maxpro_event_kind, bpf/include/maxpro/event.h). */
export const PROCESS_EVENT_KIND = { exec: 1, fork: 2, exit: 3 } as const;
/** Highest layout version each decoder understands. */
export const PROCESS_EVENT_VERSION = 1;

/** hdr.flags bits of an exec event (PROCESS_F_* in process.h). */
export const PROCESS_FLAG = {
  argsTruncated: 1 << 0,
  filenameTruncated: 1 << 1,
  failed: 1 << 2,
  threadExec: 1 << 3,
  argsFault: 1 << 4,
  execveat: 1 << 5,
} as const;

interface ProcessEventBase {
  /** Boot-clock time of the event, ns. */
  bootNs: number;
  pid: number;
  tid: number;
  ppid: number;
  cgroupId: number;
  /** Process start, boot clock, ns. */
  startBootNs: number;
  comm: string;
}

/** A successful or failed exec. */
export interface ProcessExecEvent extends ProcessEventBase {
  type: 'exec';
  flags: number;
  /** Thread that called execve; differs from `pid` for a non-leader thread. */
  oldTid: number;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  mntnsId: number;
  pidnsId: number;
  nsPid: number;
  /** Arguments the program was given, before any cut. */
  argc: number;
  /** 0 or a negative errno. */
  retval: number;
  filename: string;
  /** At most `maxArgs` arguments; see `argsTruncated`. */
  args: string[];
  argsTruncated: boolean;
  filenameTruncated: boolean;
  /** argv memory could not be read: `args` may be incomplete. */
  argsFault: boolean;
  /** argv bytes the program was given (0: unknown, for failed execs). */
  argsTotalBytes: number;
}

/** A new process. */
export interface ProcessForkEvent extends ProcessEventBase {
  type: 'fork';
  uid: number;
  gid: number;
  mntnsId: number;
  pidnsId: number;
  nsPid: number;
}

/** The end of a process (its last thread). */
export interface ProcessExitEvent extends ProcessEventBase {
  type: 'exit';
  /** Exit status when it exited normally, else null. */
  exitCode: number | null;
  /** Terminating signal, else null. */
  signal: number | null;
  coreDumped: boolean;
  /** The raw wait(2) status. */
  status: number;
  lifetimeNs: number;
}

export type ProcessEvent = ProcessExecEvent | ProcessForkEvent | ProcessExitEvent;

const TWO32 = 2 ** 32;
function u64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * TWO32;
}

const utf8 = new TextDecoder();

/** Splits NUL-separated strings; a last string without NUL is kept (cut). */
export function splitArgs(bytes: Uint8Array, start: number, length: number, maxArgs: number): string[] {
  const out: string[] = [];
  const end = start + length;
  let s = start;
  while (s < end && out.length < maxArgs) {
    let e = s;
    let ascii = true;
    while (e < end && bytes[e] !== 0) {
      if (bytes[e]! > 0x7f) ascii = false;
      e++;
    }
    if (ascii && e - s <= 64) {
      let str = '';
      for (let i = s; i < e; i++) str += String.fromCharCode(bytes[i]!);
      out.push(str);
    } else {
      out.push(utf8.decode(bytes.subarray(s, e)));
    }
    s = e + 1;
  }
  return out;
}

const X = PROCESS_EXEC_EVENT.fields;

/**
 * Decodes an exec record at `off` (`length` bytes). Keeps at most `maxArgs`
 * arguments and sets `argsTruncated` when more existed.
 */
export function decodeProcessExecEvent(view: DataView, off: number, length: number, bytes: Uint8Array, maxArgs: number): ProcessExecEvent {
  const flags = view.getUint16(off + 2, true);
  const fnLen = view.getUint32(off + X.filename_len.offset, true);
  const argsLen = view.getUint32(off + X.args_len.offset, true);
  const dataOff = off + PROCESS_EXEC_EVENT.size;
  if (PROCESS_EXEC_EVENT.size + fnLen + argsLen > length) throw new RangeError(`exec record: ${fnLen}+${argsLen} data bytes exceed record of ${length}`);
  const argc = view.getUint32(off + X.argc.offset, true);
  const args = splitArgs(bytes, dataOff + fnLen, argsLen, maxArgs);
  let argsTruncated = (flags & PROCESS_FLAG.argsTruncated) !== 0;
  if (argc > args.length && (flags & PROCESS_FLAG.argsFault) === 0) argsTruncated = true;
  return {
    type: 'exec',
    bootNs: u64(view, off + 8),
    flags,
    pid: view.getUint32(off + X.pid.offset, true),
    tid: view.getUint32(off + X.tid.offset, true),
    ppid: view.getUint32(off + X.ppid.offset, true),
    oldTid: view.getUint32(off + X.old_tid.offset, true),
    uid: view.getUint32(off + X.uid.offset, true),
    gid: view.getUint32(off + X.gid.offset, true),
    euid: view.getUint32(off + X.euid.offset, true),
    egid: view.getUint32(off + X.egid.offset, true),
    cgroupId: u64(view, off + X.cgroup_id.offset),
    mntnsId: view.getUint32(off + X.mntns_id.offset, true),
    pidnsId: view.getUint32(off + X.pidns_id.offset, true),
    nsPid: view.getUint32(off + X.ns_pid.offset, true),
    argc,
    retval: view.getInt32(off + X.retval.offset, true),
    filename: fnLen > 0 ? readCString(bytes, dataOff, fnLen) : '',
    args,
    argsTruncated,
    filenameTruncated: (flags & PROCESS_FLAG.filenameTruncated) !== 0,
    argsFault: (flags & PROCESS_FLAG.argsFault) !== 0,
    argsTotalBytes: view.getUint32(off + X.args_total.offset, true),
    startBootNs: u64(view, off + X.start_boot_ns.offset),
    comm: readCString(bytes, off + X.comm.offset, 16),
  };
}

const F = PROCESS_FORK_EVENT.fields;

/** Decodes a fork record at `off`. */
export function decodeProcessForkEvent(view: DataView, off: number, bytes: Uint8Array): ProcessForkEvent {
  return {
    type: 'fork',
    bootNs: u64(view, off + 8),
    pid: view.getUint32(off + F.pid.offset, true),
    tid: view.getUint32(off + F.tid.offset, true),
    ppid: view.getUint32(off + F.ppid.offset, true),
    nsPid: view.getUint32(off + F.ns_pid.offset, true),
    uid: view.getUint32(off + F.uid.offset, true),
    gid: view.getUint32(off + F.gid.offset, true),
    mntnsId: view.getUint32(off + F.mntns_id.offset, true),
    pidnsId: view.getUint32(off + F.pidns_id.offset, true),
    cgroupId: u64(view, off + F.cgroup_id.offset),
    startBootNs: u64(view, off + F.start_boot_ns.offset),
    comm: readCString(bytes, off + F.comm.offset, 16),
  };
}

const E = PROCESS_EXIT_EVENT.fields;

/** Decodes an exit record at `off`; splits the wait status. */
export function decodeProcessExitEvent(view: DataView, off: number, bytes: Uint8Array): ProcessExitEvent {
  const status = view.getUint32(off + E.exit_code.offset, true);
  const sig = status & 0x7f;
  return {
    type: 'exit',
    bootNs: u64(view, off + 8),
    pid: view.getUint32(off + E.pid.offset, true),
    tid: view.getUint32(off + E.tid.offset, true),
    ppid: view.getUint32(off + E.ppid.offset, true),
    status,
    exitCode: sig === 0 ? (status >> 8) & 0xff : null,
    signal: sig === 0 ? null : sig,
    coreDumped: (status & 0x80) !== 0,
    startBootNs: u64(view, off + E.start_boot_ns.offset),
    lifetimeNs: u64(view, off + E.lifetime_ns.offset),
    cgroupId: u64(view, off + E.cgroup_id.offset),
    comm: readCString(bytes, off + E.comm.offset, 16),
  };
}
