// SPDX-License-Identifier: Apache-2.0
/** A loaded BPF program and the ways to attach it. */
import { AttachError, ClosedError, InvalidArgumentError, NotSupportedError, PermissionError, SyscallError, TracefsError } from '../lib/errors.js';
import { missingCapability } from './capabilities.js';
import { tracefsState } from './tracefs.js';
import { native } from './native.js';
import type { LinkHandle, NativePerfEventAttr, ObjectHandle } from './native.js';
import { createLink } from './link.js';
import type { Link } from './link.js';

export interface UprobeTarget {
  /** Binary or library path. */
  path: string;
  /** Symbol to resolve; or give `offset`. */
  func?: string;
  offset?: number;
  /** -1 (default): every process. */
  pid?: number;
  ret?: boolean;
}

export interface TcTarget {
  direction: 'ingress' | 'egress';
  handle?: number;
  priority?: number;
}

export interface ProgramStats {
  runTimeNs: bigint;
  runCount: bigint;
  recursionMisses: bigint;
}

export interface Program {
  readonly name: string;
  readonly section: string;
  readonly type: string;
  readonly fd: number;
  attachTracepoint(category: string, name: string): Link;
  attachRawTracepoint(name: string): Link;
  /** tp_btf, fentry, fexit: the target comes from the section name. */
  attachTrace(): Link;
  /** Attaches as the section name says (`tp/…`, `raw_tp/…`, `tp_btf/…`, …). */
  attach(): Link;
  /** May throw `NotSupportedError` where kprobes are not compiled in. */
  attachKprobe(func: string, options?: { ret?: boolean }): Link;
  attachUprobe(target: UprobeTarget): Link;
  attachPerfEvent(attr: NativePerfEventAttr): Link;
  attachXdp(ifindex: number): Link;
  attachTc(ifindex: number, target: TcTarget): Link;
  attachSocketFilter(socketFd: number): Link;
  attachCgroup(cgroupPath: string): Link;
  /** Run time and count; non-zero only while BPF stats are enabled. */
  stats(): ProgramStats;
  /** The kernel's tag (hex digest of the loaded instructions) and their length in bytes. */
  identity(): ProgramIdentity;
  pin(path: string): void;
}

export interface ProgramIdentity {
  tag: string;
  xlatedLen: number;
}

const ENOENT = 2, EPERM = 1, EACCES = 13, EOPNOTSUPP = 95, ENOTSUPP = 524, EINVAL = 22;

/** @internal */
export function createProgram(
  objectName: string, handle: () => ObjectHandle, name: string, section: string, type: string, fd: number,
  track: (l: Link) => void, untrack: (l: Link) => void,
): Program {
  const attach = (target: string, feature: string, fn: (h: ObjectHandle) => LinkHandle): Link => {
    let lh: LinkHandle;
    try {
      lh = fn(handle());
    } catch (err) {
      throw attachError(`${objectName}/${name}`, target, feature, err);
    }
    const link = createLink(lh, name, target, untrack);
    track(link);
    return link;
  };
  const n = native();
  return {
    name,
    section,
    type,
    fd,
    attachTracepoint: (category, tp) => attach(`tracepoint/${category}/${tp}`, 'tracepoint', (h) => n.attachTracepoint(h, name, category, tp)),
    attachRawTracepoint: (tp) => attach(`raw_tp/${tp}`, 'raw_tracepoint', (h) => n.attachRawTracepoint(h, name, tp)),
    attachTrace: () => attach(section, section.startsWith('tp_btf') ? 'tp_btf' : section.split('/')[0] ?? 'trace', (h) => n.attachTrace(h, name)),
    attach: () => attach(section, section.split('/')[0] ?? section, (h) => n.attachAuto(h, name)),
    attachKprobe: (func, options) => attach(`${options?.ret ? 'kretprobe' : 'kprobe'}/${func}`, 'kprobe', (h) => n.attachKprobe(h, name, func, options?.ret ?? false)),
    attachUprobe: (t) => {
      if (!t.func && t.offset === undefined) throw new InvalidArgumentError('attachUprobe: give func or offset');
      return attach(`${t.ret ? 'uretprobe' : 'uprobe'}/${t.path}:${t.func ?? t.offset}`, 'uprobe',
        (h) => n.attachUprobe(h, name, t.path, t.func ?? null, t.offset ?? 0, t.pid ?? -1, t.ret ?? false));
    },
    attachPerfEvent: (attr) => attach(`perf_event/${attr.type}:${attr.config}@cpu${attr.cpu ?? -1}`, 'perf_event', (h) => n.attachPerfEvent(h, name, attr)),
    attachXdp: (ifindex) => attach(`xdp/if${ifindex}`, 'xdp', (h) => n.attachXdp(h, name, ifindex)),
    attachTc: (ifindex, t) => attach(`tc/if${ifindex}/${t.direction}`, 'tc',
      (h) => n.attachTc(h, name, ifindex, t.direction === 'ingress', t.handle ?? 0, t.priority ?? 0)),
    attachSocketFilter: (sock) => attach(`socket/fd${sock}`, 'socket_filter', (h) => n.attachSocketFilter(h, name, sock)),
    attachCgroup: (path) => attach(`cgroup/${path}`, 'cgroup', (h) => n.attachCgroup(h, name, path)),
    stats: () => {
      const i = n.progInfo(fd);
      return { runTimeNs: i.runTimeNs, runCount: i.runCount, recursionMisses: i.recursionMisses };
    },
    identity: () => {
      const i = n.progInfo(fd);
      return { tag: i.tag, xlatedLen: i.xlatedLen };
    },
    pin: (path) => n.objPin(fd, path),
  };
}

function attachError(program: string, target: string, feature: string, err: unknown): Error {
  if (err instanceof ClosedError || err instanceof InvalidArgumentError) return err;
  if (err instanceof SyscallError) {
    const msg = `attach ${program} to ${target}: ${err.errnoName}`;
    if (err.errno === EOPNOTSUPP || err.errno === ENOTSUPP || (feature === 'kprobe' && (err.errno === ENOENT || err.errno === EINVAL))) {
      return new NotSupportedError(feature, `${msg}: ${feature} is not supported by this kernel`, { cause: err });
    }
    if ((feature === 'tracepoint' || feature === 'tp') && (err.errno === EPERM || err.errno === EACCES || err.errno === ENOENT)) {
      const tfs = tracefsError(msg, target, err);
      if (tfs) return tfs;
    }
    if (err.errno === EPERM || err.errno === EACCES) return permissionError(msg, feature, err);
    return new AttachError(program, msg, { cause: err });
  }
  return new AttachError(program, `attach ${program} to ${target}: ${String(err)}`, { cause: err });
}

/** A refusal for lack of privilege, naming the capability this process lacks. */
export function permissionError(msg: string, kind: string, cause: unknown): PermissionError {
  const cap = missingCapability([kind]);
  if (cap) return new PermissionError(cap, `${msg}: permission denied: ${kind} needs ${cap}, which this process lacks`, { cause });
  return new PermissionError(kind === 'perf_event' || kind === 'tracepoint' ? 'CAP_PERFMON' : 'CAP_BPF',
    `${msg}: permission denied although the capabilities ${kind} needs are held (an LSM, kernel lockdown or a seccomp profile refused it)`, { cause });
}

/* `tracepoint/<category>/<name>` or `tp/<category>/<name>`: tracefs is where its id comes from. */
function tracefsError(msg: string, target: string, cause: unknown): TracefsError | undefined {
  const [, category, name] = target.split('/');
  if (!category || !name) return undefined;
  const st = tracefsState(category, name);
  if (st.state === 'unreadable') {
    return new TracefsError(st.file, 'unreadable',
      `${msg}: this process (uid ${process.getuid?.() ?? '?'}) cannot read ${st.file} (${st.errno}): tracefs is root-only here; run as root or grant CAP_DAC_READ_SEARCH`, { cause });
  }
  if (st.state === 'not-mounted') {
    return new TracefsError('/sys/kernel/tracing', 'not-mounted', `${msg}: tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing`, { cause });
  }
  return undefined;
}
