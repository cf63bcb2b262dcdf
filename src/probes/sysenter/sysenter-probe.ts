// SPDX-License-Identifier: Apache-2.0
/**
 * Loads the example probe (bpf/probes/sysenter): a per-CPU count of every
 * syscall entry, and records of the syscalls of the processes its policy
 * map names. One program on `tp_btf/sys_enter`, so it costs a few
 * nanoseconds on every syscall of the machine while loaded.
 */
import {
  bpfObjectPath, createEventDispatcher, createRingBufferReader, openObjectFile, readDropCounts,
} from '../../ebpf/index.js';
import type { BpfObject, DropReason, RingBufferReader } from '../../ebpf/index.js';
import { programRunStats } from '../program-run-stats.js';
import type { ProgramRunStat } from '../program-run-stats.js';
import { decodeSyscallEvent, SYSENTER_EVENT, SYSENTER_EVENT_KIND, SYSENTER_EVENT_VERSION } from './sysenter-event.js';
import type { SyscallEvent } from './sysenter-event.js';

/** `struct sysenter_policy`. */
export interface SysenterPolicy {
  /** The configured process (0: none). */
  tgid: number;
  /** A process a live-stream subscriber watches (0: none): every syscall. */
  liveTgid: number;
  /** Of `tgid`, only this syscall (-1: any). */
  syscallNr: number;
  /** Of `tgid`, false: no records. */
  records: boolean;
}

export interface SysenterProbeOptions {
  policy: SysenterPolicy;
  onEvents(events: SyscallEvent[]): void;
  onError?(err: unknown): void;
  objectPath?: string;
  intervalMs?: number;
}

export interface SysenterProbeStats {
  records: number;
  /** Syscall entries counted machine-wide since load (all CPUs). */
  entered: number;
  kernelDrops: Record<DropReason, number>;
  readerDrops: number;
  /** Records the dispatcher skipped (unknown kind, newer version, short, decode error). */
  skipped: number;
}

export interface SysenterProbe {
  setPolicy(p: SysenterPolicy): void;
  stats(): SysenterProbeStats;
  programStats(): ProgramRunStat[];
  flush(): void;
  close(): Promise<void>;
}

function encodePolicy(p: SysenterPolicy): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, p.tgid, true);
  v.setUint32(4, p.liveTgid, true);
  v.setInt32(8, p.syscallNr, true);
  v.setUint32(12, p.records ? 1 : 0, true);
  return b;
}

function sumPerCpu(obj: BpfObject): number {
  const m = obj.map('syscall_counts');
  const v = m.lookup(new Uint8Array(4));
  if (!v) return 0;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  let n = 0;
  for (let off = 0; off + 8 <= v.byteLength; off += 8) n += Number(dv.getBigUint64(off, true));
  return n;
}

/** Loads and attaches. May throw what loading and attaching a BPF object throws. */
export function createSysenterProbe(options: SysenterProbeOptions): SysenterProbe {
  const spec = openObjectFile(options.objectPath ?? bpfObjectPath('sysenter'), 'sysenter');
  let obj: BpfObject;
  try {
    obj = spec.load();
  } catch (err) {
    spec.close();
    throw err;
  }
  let records = 0;
  let pending: SyscallEvent[] = [];
  const dispatcher = createEventDispatcher({
    decoders: new Map([[SYSENTER_EVENT_KIND.enter, {
      version: SYSENTER_EVENT_VERSION, minSize: SYSENTER_EVENT.size,
      decode: (view: DataView, off: number, _len: number, bytes: Uint8Array) => { pending.push(decodeSyscallEvent(view, off, bytes)); },
    }]]),
    onDecodeError: (_k, err) => options.onError?.(err),
  });
  let reader: RingBufferReader;
  try {
    obj.map('sysenter_policy').update(new Uint8Array(4), encodePolicy(options.policy));
    reader = createRingBufferReader({
      map: obj.map('events'),
      intervalMs: options.intervalMs ?? 10,
      onError: options.onError,
      onBatch: (batch) => {
        dispatcher.dispatch(batch);
        if (pending.length === 0) return;
        const events = pending;
        pending = [];
        records += events.length;
        options.onEvents(events);
      },
    });
    obj.program('sysenter__sys_enter').attachTrace();
  } catch (err) {
    obj.close();
    throw err;
  }
  let last: { stats: SysenterProbeStats; programs: ProgramRunStat[] } | undefined;
  const stats = (): SysenterProbeStats => {
    if (last) return last.stats;
    const r = reader.stats();
    let skipped = 0;
    for (const n of dispatcher.stats().skipped.values()) skipped += n;
    const kernelDrops = Object.fromEntries(Object.entries(readDropCounts(obj)).map(([k, v]) => [k, Number(v)])) as Record<DropReason, number>;
    return { records, entered: sumPerCpu(obj), kernelDrops, readerDrops: r.queueDrops + r.oversizeDrops, skipped };
  };
  let closing: Promise<void> | undefined;
  return {
    setPolicy: (p) => obj.map('sysenter_policy').update(new Uint8Array(4), encodePolicy(p)),
    stats,
    programStats: () => last?.programs ?? programRunStats(obj),
    flush: () => reader.flush(),
    close() {
      closing ??= (async () => {
        for (const l of obj.links) l.destroy();
        await reader.close();
        last = { stats: stats(), programs: programRunStats(obj) };
        obj.close();
      })();
      return closing;
    },
  };
}
