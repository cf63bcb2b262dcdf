// SPDX-License-Identifier: Apache-2.0
/**
 * The process lifecycle probe: loads bpf/probes/process, attaches its
 * tracepoints and hands decoded exec, fork and exit events to `onEvents`,
 * one array per drained batch.
 */
import {
  bpfObjectPath, createEventDispatcher, createRingBufferReader, native, openObjectFile, readDropCounts, readErrorCounts,
  tracefsState, tracepointArgCount,
} from '../../ebpf/index.js';
import type {
  BpfErrorCount, BpfObject, DispatcherStats, DropReason, KindDecoder, RingBufferReader, RingBufferReaderStats, TracefsState,
} from '../../ebpf/index.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import {
  PROCESS_EVENT_KIND, PROCESS_EVENT_VERSION, PROCESS_EXEC_EVENT, PROCESS_EXIT_EVENT, PROCESS_FORK_EVENT,
  decodeProcessExecEvent, decodeProcessExitEvent, decodeProcessForkEvent,
} from './process-event.js';
import type { ProcessEvent } from './process-event.js';
import { createCgroupFilter } from '../cgroup-filter.js';
import { programRunStats } from '../program-run-stats.js';
import type { ProgramRunStat } from '../program-run-stats.js';
import type { CgroupFilter } from '../cgroup-filter.js';

/** Hard caps compiled into the probe (PROCESS_ARGC_MAX, PROCESS_ARGS_MAX). */
export const PROCESS_ARGC_MAX = 1024;
export const PROCESS_ARGS_MAX = 32768;

export interface ProcessProbeOptions {
  /** Receives each batch's events, in ring order. The array is the caller's to keep. */
  onEvents(events: ProcessEvent[]): void;
  /** Receives errors thrown by onEvents and decoder failures (also counted). */
  onError?(err: unknown): void;
  /** Arguments kept per exec, 1..1024. Default 128. */
  maxArgs?: number;
  /** Argument bytes kept per exec, 64..32768. Default 4096. */
  maxArgBytes?: number;
  /** Only this real uid. Default: every user. */
  uid?: number;
  /** Ring buffer bytes (power of two). Default 2 MiB: at 10 ms drains that holds bursts of thousands of execs, and a small ring keeps RSS flat (every page of it is touched once the ring wraps). */
  ringBytes?: number;
  /** Drain period, ms. Default 10. */
  intervalMs?: number;
  /**
   * How a process exit is told from a thread exit: `group-dead` (the
   * tracepoint's group_dead argument: the last thread), `leader` (the thread
   * group leader's exit, for kernels whose tracepoint lacks the argument), or
   * `auto` (default): `group-dead` when the running kernel's prototype has it.
   */
  exitHook?: ProcessExitHook;
  /**
   * Where failed execs are caught: `tracepoint` (the execve/execveat syscall
   * tracepoints, whose ids come from tracefs), `tp_btf` (the raw sys_exit
   * tracepoint, filtered by result and syscall number in BPF; no tracefs
   * needed), or `auto` (default): see chooseSyscallHook.
   */
  syscallHook?: ProcessSyscallHook;
}

export type ProcessExitHook = 'auto' | 'group-dead' | 'leader';
export type ProcessSyscallHook = 'auto' | 'tracepoint' | 'tp_btf';

/** Events lost, by where they were lost. */
export interface ProcessProbeLost {
  /** In BPF, by enum maxpro_drop_reason. */
  kernel: Record<DropReason, number>;
  /** Between the ring and JS (reader queue or oversize records). */
  reader: number;
  /** Records the dispatcher skipped (unknown kind, bad version, short, decode error). */
  decode: number;
  total: number;
}

export interface ProcessProbeStats {
  events: { exec: number; fork: number; exit: number };
  lost: ProcessProbeLost;
  reader: RingBufferReaderStats;
  dispatcher: DispatcherStats;
  /** Helper failures inside BPF by (errno, line). */
  bpfErrors: BpfErrorCount[];
}

export interface ProcessProbe {
  /** Cgroup allow/deny list checked in BPF before a record is emitted (off at load). */
  readonly cgroupFilter: CgroupFilter;
  /** How process exits are told from thread exits on this kernel (see ProcessProbeOptions.exitHook). */
  readonly exitHook: Exclude<ProcessExitHook, 'auto'>;
  /** Where failed execs are caught (see ProcessProbeOptions.syscallHook). */
  readonly syscallHook: Exclude<ProcessSyscallHook, 'auto'>;
  stats(): ProcessProbeStats;
  /** BPF run statistics of the probe's programs (the last reading once closed). */
  programStats(): ProgramRunStat[];
  /** Drains the ring now. */
  flush(): void;
  /** Detaches, drains what is left and frees everything. Idempotent. */
  close(): Promise<ProcessProbeStats>;
}

const PROGRAMS = ['process__sched_process_exec', 'process__sched_process_fork'] as const;
const SYSCALL_PROGRAMS = {
  tracepoint: ['process__sys_enter_execve', 'process__sys_enter_execveat', 'process__sys_exit_execve', 'process__sys_exit_execveat'],
  tp_btf: ['process__sys_exit'],
} as const;
const EXIT_PROGRAMS = { 'group-dead': 'process__sched_process_exit', leader: 'process__sched_process_exit_leader' } as const;

/** The exit program for this kernel: sched_process_exit(p, group_dead) has 2 arguments, older kernels 1. */
export function chooseExitHook(hook: ProcessExitHook, argCount: () => number | undefined): Exclude<ProcessExitHook, 'auto'> {
  if (hook !== 'auto') return hook;
  return (argCount() ?? 2) >= 2 ? 'group-dead' : 'leader';
}

/**
 * Where failed execs are caught. `auto`: the syscall tracepoints when this
 * process can read their tracefs ids (the kernel then runs BPF for these two
 * syscalls only), else tp_btf on sys_exit, which runs on every syscall but
 * needs no tracefs (a non-root agent with CAP_BPF and CAP_PERFMON).
 */
export function chooseSyscallHook(hook: ProcessSyscallHook, tracefs: () => TracefsState): Exclude<ProcessSyscallHook, 'auto'> {
  if (hook !== 'auto') return hook;
  return tracefs().state === 'readable' ? 'tracepoint' : 'tp_btf';
}

const EAGAIN = 11;

interface LoadChoice {
  maxArgs: number;
  maxArgBytes: number;
  ringBytes: number;
  uid: number | undefined;
  exit: keyof typeof EXIT_PROGRAMS;
  syscall: keyof typeof SYSCALL_PROGRAMS;
}

/*
 * Opens, configures and loads the object. The verifier gives up with EAGAIN
 * when a signal arrives during verification (a profiler's SIGPROF, a
 * SIGCHLD); that is retried, every other error is thrown.
 */
function loadObject(c: LoadChoice): BpfObject {
  for (let attempt = 1; ; attempt++) {
    const spec = openObjectFile(bpfObjectPath('process'), 'process');
    try {
      spec.setConstant('max_args', c.maxArgs);
      spec.setConstant('max_arg_bytes', c.maxArgBytes);
      if (c.uid !== undefined) spec.setConstant('targ_uid', checkInt('uid', c.uid, 0, 0xfffffffe));
      spec.setMaxEntries('events', c.ringBytes);
      spec.setMaxEntries('scratch', native().numPossibleCpus());
      // Wake the reader early when a burst fills half the ring.
      spec.setConstant('maxpro_wakeup_bytes', c.ringBytes / 2);
      // Only the exit program whose prototype fits this kernel is loaded: the other fails the verifier.
      for (const [k, prog] of Object.entries(EXIT_PROGRAMS)) spec.setAutoload(prog, k === c.exit);
      for (const [k, progs] of Object.entries(SYSCALL_PROGRAMS)) for (const prog of progs) spec.setAutoload(prog, k === c.syscall);
      return spec.load();
    } catch (err) {
      spec.close();
      if (attempt < 5 && (err as { errno?: unknown }).errno === EAGAIN) continue;
      throw err;
    }
  }
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`createProcessProbe: ${name} ${v} not in ${min}..${max}`);
  return v;
}

/**
 * Loads and attaches the probe. May throw `InvalidArgumentError`,
 * `NotFoundError` (object not built), `PermissionError`, `VerifierError`,
 * `AttachError` or `SyscallError`.
 */
export function createProcessProbe(options: ProcessProbeOptions): ProcessProbe {
  const maxArgs = checkInt('maxArgs', options.maxArgs ?? 128, 1, PROCESS_ARGC_MAX);
  const maxArgBytes = checkInt('maxArgBytes', options.maxArgBytes ?? 4096, 64, PROCESS_ARGS_MAX);
  const ringBytes = options.ringBytes ?? 1 << 22;
  if (!Number.isInteger(ringBytes) || ringBytes < 4096 || (ringBytes & (ringBytes - 1)) !== 0) {
    throw new InvalidArgumentError(`createProcessProbe: ringBytes ${ringBytes} is not a power of two >= 4096`);
  }
  const exitHook = chooseExitHook(options.exitHook ?? 'auto', () => tracepointArgCount('sched_process_exit'));
  const syscallHook = chooseSyscallHook(options.syscallHook ?? 'auto', () => tracefsState('syscalls', 'sys_enter_execve'));
  const obj = loadObject({ maxArgs, maxArgBytes, ringBytes, uid: options.uid, exit: exitHook, syscall: syscallHook });

  const counts = { exec: 0, fork: 0, exit: 0 };
  let pending: ProcessEvent[] = [];
  const decoders = new Map<number, KindDecoder>([
    [PROCESS_EVENT_KIND.exec, {
      version: PROCESS_EVENT_VERSION, minSize: PROCESS_EXEC_EVENT.size,
      decode: (view, off, len, bytes) => { pending.push(decodeProcessExecEvent(view, off, len, bytes, maxArgs)); },
    }],
    [PROCESS_EVENT_KIND.fork, {
      version: PROCESS_EVENT_VERSION, minSize: PROCESS_FORK_EVENT.size,
      decode: (view, off, _len, bytes) => { pending.push(decodeProcessForkEvent(view, off, bytes)); },
    }],
    [PROCESS_EVENT_KIND.exit, {
      version: PROCESS_EVENT_VERSION, minSize: PROCESS_EXIT_EVENT.size,
      decode: (view, off, _len, bytes) => { pending.push(decodeProcessExitEvent(view, off, bytes)); },
    }],
  ]);
  const dispatcher = createEventDispatcher({ decoders, onDecodeError: (_k, err) => options.onError?.(err) });

  let reader: RingBufferReader;
  let cgroupFilter: CgroupFilter;
  try {
    cgroupFilter = createCgroupFilter({ object: obj });
    for (const p of [...PROGRAMS, ...SYSCALL_PROGRAMS[syscallHook], EXIT_PROGRAMS[exitHook]]) obj.program(p).attach();
    reader = createRingBufferReader({
      map: obj.map('events'),
      intervalMs: options.intervalMs ?? 10,
      onError: options.onError,
      onBatch: (batch) => {
        dispatcher.dispatch(batch);
        if (pending.length === 0) return;
        const events = pending;
        pending = [];
        for (const e of events) counts[e.type]++;
        options.onEvents(events);
      },
    });
  } catch (err) {
    obj.close();
    throw err;
  }

  let lastStats: ProcessProbeStats | undefined;
  const stats = (): ProcessProbeStats => {
    if (lastStats) return lastStats;
    const kernel = Object.fromEntries(Object.entries(readDropCounts(obj)).map(([k, v]) => [k, Number(v)])) as Record<DropReason, number>;
    const r = reader.stats();
    const d = dispatcher.stats();
    let decode = 0;
    for (const n of d.skipped.values()) decode += n;
    const readerLost = r.queueDrops + r.oversizeDrops;
    const total = Object.values(kernel).reduce((a, b) => a + b, 0) + readerLost + decode;
    return {
      events: { ...counts },
      lost: { kernel, reader: readerLost, decode, total },
      reader: r,
      dispatcher: d,
      bpfErrors: readErrorCounts(obj),
    };
  };
  let closing: Promise<ProcessProbeStats> | undefined;
  let lastPrograms: ProgramRunStat[] = [];
  return {
    cgroupFilter,
    exitHook,
    syscallHook,
    stats,
    programStats: () => (closing ? lastPrograms : (lastPrograms = programRunStats(obj))),
    flush: () => reader.flush(),
    close(): Promise<ProcessProbeStats> {
      closing ??= (async () => {
        // Detach first so nothing new arrives, then drain the rest.
        lastPrograms = programRunStats(obj);
        for (const l of obj.links) l.destroy();
        await reader.close();
        lastStats = stats();
        obj.close();
        return lastStats;
      })();
      return closing;
    },
  };
}
