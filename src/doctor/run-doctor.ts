// SPDX-License-Identifier: Apache-2.0
/**
 * Node readiness checks for the agent. Hook checks load (and where harmless,
 * attach) a real trivial program per hook kind, so the report says what
 * actually works on this kernel.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import {
  bpfObjectPath, enableBpfStats, haveHelper, haveMapType, haveProgramType, libbpfVersion, missingCapability, openObjectFile, PermissionError,
  tracefsState, tracepointArgCount, BPF_FUNC,
} from '../ebpf/index.js';
import type { CapName, Link, TracefsState } from '../ebpf/index.js';
import { MaxproError } from '../lib/errors.js';
import { CAPABILITY_GRANTS } from '../probes/probe-capabilities.js';
import type { CapabilityGrant } from '../probes/probe-capabilities.js';
import { kubernetesConfigured } from '../enrich/k8s-metadata.js';
import { checkObjectVerification } from './object-verification-check.js';
import {
  compareKernel, effectiveCaps, libcPath, memlockLimit, mountsOfType, parseKernelVersion, readSysFile, tracefsDir,
} from './system-info.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'unavailable';

export interface DoctorCheck {
  /** Stable id, e.g. `hook.kprobe`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** The agent cannot run when a required check fails. */
  required: boolean;
  /** How to fix it, when there is a fix. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  kernel: string;
  libbpf?: string;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** Mount bpffs and tracefs when missing. */
  fix?: boolean;
}

/** The oldest kernel the agent supports: BPF ring buffer and bpf_ktime_get_boot_ns (5.8). */
export const MIN_KERNEL: readonly [number, number, number] = [5, 8, 0];

interface HookSpec {
  id: string;
  title: string;
  program: string;
  required: boolean;
  /** Attaches the loaded program; undefined: load only (attaching would touch the network). */
  attach?: (p: import('../ebpf/index.js').Program) => Link;
}

const HOOKS: HookSpec[] = [
  { id: 'hook.tracepoint', title: 'tracepoints', program: 'doctor__tracepoint', required: false, attach: (p) => p.attachTracepoint('syscalls', 'sys_enter_getppid') },
  { id: 'hook.raw_tracepoint', title: 'raw tracepoints', program: 'doctor__raw_tp', required: true, attach: (p) => p.attachRawTracepoint('sys_enter') },
  { id: 'hook.tp_btf', title: 'BTF tracepoints (tp_btf)', program: 'doctor__tp_btf', required: true, attach: (p) => p.attachTrace() },
  { id: 'hook.kprobe', title: 'kprobes', program: 'doctor__kprobe', required: false, attach: (p) => p.attachKprobe('vfs_read') },
  { id: 'hook.fentry', title: 'fentry/fexit', program: 'doctor__fentry', required: false, attach: (p) => p.attachTrace() },
  {
    id: 'hook.uprobe', title: 'uprobes', program: 'doctor__uprobe', required: false,
    attach: (p) => {
      const libc = libcPath();
      if (!libc) throw new MaxproError('MAXPRO_ERR_NOT_FOUND', 'no libc mapped in this process to probe');
      return p.attachUprobe({ path: libc, func: 'getppid', pid: process.pid });
    },
  },
  // Software cpu-clock on CPU 0 at 1 Hz: proves perf_event sampling without load.
  { id: 'hook.perf_event', title: 'perf_event sampling', program: 'doctor__perf_event', required: false, attach: (p) => p.attachPerfEvent({ type: 1, config: 0, sampleFreq: 1, cpu: 0, pid: -1 }) },
  { id: 'hook.xdp', title: 'XDP programs', program: 'doctor__xdp', required: false },
  { id: 'hook.tc', title: 'TC (clsact) programs', program: 'doctor__tc', required: false },
  { id: 'hook.cgroup_skb', title: 'cgroup socket hooks', program: 'doctor__cgroup_skb', required: false },
  { id: 'hook.socket_filter', title: 'socket filters', program: 'doctor__socket', required: false },
  { id: 'map.ringbuf_program', title: 'ring buffer from a program', program: 'doctor__ringbuf', required: true, attach: (p) => p.attachTrace() },
];

/** Runs every check. Never throws for a failed check: failures are in the report. */
export function runDoctor(options: DoctorOptions = {}): DoctorReport {
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck): void => void checks.push(c);
  const rel = release();
  const kv = parseKernelVersion(rel);
  add({
    id: 'kernel.version', title: 'kernel version', required: true,
    status: compareKernel(kv, MIN_KERNEL) >= 0 ? 'ok' : 'fail',
    detail: `${rel} (minimum ${MIN_KERNEL.join('.')} for ring buffers)`,
    ...(compareKernel(kv, MIN_KERNEL) < 0 ? { fix: 'upgrade the kernel to 5.8 or later' } : {}),
  });
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  add({
    id: 'kernel.btf', title: 'kernel BTF', required: true, status: btf ? 'ok' : 'fail',
    detail: btf ? '/sys/kernel/btf/vmlinux' : '/sys/kernel/btf/vmlinux is missing: CO-RE cannot relocate',
    ...(btf ? {} : { fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y' }),
  });

  const root = process.getuid?.() === 0;
  if (options.fix && root) fixMounts();
  const bpffs = mountsOfType('bpf');
  add({
    id: 'mount.bpffs', title: 'bpffs', required: true, status: bpffs.includes('/sys/fs/bpf') ? 'ok' : 'fail',
    detail: bpffs.length ? `mounted at ${bpffs.join(', ')}` : 'not mounted: pinned maps cannot survive restarts',
    ...(bpffs.includes('/sys/fs/bpf') ? {} : { fix: 'maxpro doctor --fix (or: mount -t bpf bpf /sys/fs/bpf)' }),
  });
  const tfs = tracefsState();
  add(tracefsCheck(tfs, process.getuid?.()));

  const caps = effectiveCaps();
  for (const c of capabilityChecks(caps, root)) add(c);
  const capOk = caps.has('CAP_SYS_ADMIN') || (caps.has('CAP_BPF') && caps.has('CAP_PERFMON'));

  const lockdown = readSysFile('/sys/kernel/security/lockdown');
  const mode = lockdown ? /\[(\w+)\]/.exec(lockdown)?.[1] ?? 'unknown' : 'none';
  add({
    id: 'kernel.lockdown', title: 'kernel lockdown', required: true,
    status: mode === 'confidentiality' ? 'fail' : mode === 'integrity' ? 'warn' : 'ok',
    detail: lockdown ? `mode ${mode}` : 'lockdown LSM not active',
    ...(mode === 'confidentiality' ? { fix: 'boot with lockdown=integrity or none: confidentiality blocks reading kernel memory from BPF' } : {}),
  });
  const unpriv = readSysFile('/proc/sys/kernel/unprivileged_bpf_disabled');
  add({
    id: 'kernel.unprivileged_bpf_disabled', title: 'unprivileged_bpf_disabled', required: false, status: 'ok',
    detail: unpriv === undefined ? 'not present' : `${unpriv} (the agent runs privileged, so any value works)`,
  });
  const memlock = memlockLimit();
  const memcg = compareKernel(kv, [5, 11, 0]) >= 0;
  add({
    id: 'limits.memlock', title: 'memlock limit', required: false,
    status: memcg || memlock === Infinity || memlock >= 64 << 20 ? 'ok' : 'warn',
    detail: `${memlock === Infinity ? 'unlimited' : `${Math.round(memlock / 1024)} KiB`}${memcg ? ' (kernel >= 5.11 charges BPF memory to the cgroup, not memlock)' : ''}`,
    ...(!memcg && memlock !== Infinity && memlock < 64 << 20 ? { fix: 'raise it: ulimit -l unlimited (or LimitMEMLOCK=infinity in the unit)' } : {}),
  });

  add(kubernetesCheck(process.env));

  // Everything below needs the addon and privileges.
  let libbpf: string | undefined;
  try {
    libbpf = libbpfVersion();
  } catch (err) {
    add({ id: 'native.addon', title: 'native addon', required: true, status: 'fail', detail: msg(err), fix: 'npm run build' });
    return finish(rel, checks, undefined);
  }
  if (!capOk) return finish(rel, checks, libbpf);

  const rb = haveMapType('ringbuf');
  add({ id: 'map.ringbuf', title: 'BPF ring buffer', required: true, status: rb.supported ? 'ok' : 'fail', detail: rb.supported ? 'supported' : rb.reason });
  const q = haveHelper('tracepoint', BPF_FUNC.ringbuf_query);
  add({ id: 'helper.ringbuf_query', title: 'bpf_ringbuf_query (adaptive wakeup)', required: false, status: q.supported ? 'ok' : 'warn', detail: q.supported ? 'supported' : q.reason });
  // The process probe tells a process exit from a thread exit by this argument when the kernel has it.
  const exitArgs = tracepointArgCount('sched_process_exit');
  add({
    id: 'tracepoint.sched_process_exit', title: 'process exit detection', required: false,
    status: exitArgs === undefined ? 'warn' : 'ok',
    detail: exitArgs === undefined ? 'sched_process_exit is not described in the kernel BTF'
      : exitArgs >= 2 ? 'sched_process_exit passes group_dead: the last thread\'s exit'
        : 'sched_process_exit has no group_dead: the thread group leader\'s exit stands for the process',
  });
  // `tracing` (tp_btf/fentry) cannot be probed by type alone: the hook checks below load it.
  for (const t of ['tracepoint', 'raw_tracepoint', 'perf_event', 'kprobe', 'xdp', 'sched_cls']) {
    const r = haveProgramType(t);
    // The feature probe cannot tell a missing type from a refused one: name the capability when it is missing.
    const cap = r.supported ? undefined : missingCapability([t], caps);
    add({
      id: `prog.${t}`, title: `program type ${t}`, required: false, status: r.supported ? 'ok' : 'unavailable',
      detail: r.supported ? 'supported' : cap ? `needs ${cap}, which this process lacks` : r.reason,
    });
  }

  let objPath: string | undefined;
  try {
    objPath = bpfObjectPath('doctor');
  } catch (err) {
    add({ id: 'bpf.objects', title: 'compiled BPF objects', required: true, status: 'fail', detail: msg(err), fix: 'npm run build' });
  }
  if (objPath) add(checkObjectVerification(objPath));
  if (objPath && checks.at(-1)?.status !== 'fail') for (const hook of HOOKS) add(checkHook(objPath, hook, tfs, caps));

  try {
    enableBpfStats().close();
    add({ id: 'bpf.stats', title: 'BPF run-time stats', required: false, status: 'ok', detail: 'BPF_ENABLE_STATS works' });
  } catch (err) {
    const admin = caps.has('CAP_SYS_ADMIN');
    add({
      id: 'bpf.stats', title: 'BPF run-time stats', required: false, status: 'warn',
      detail: admin ? msg(err) : `needs CAP_SYS_ADMIN, which this process lacks: maxpro_probe_bpf_run_seconds and the run counts stay at 0 (${msg(err)})`,
    });
  }
  return finish(rel, checks, libbpf);
}

/**
 * Where pod metadata would come from. In a pod the host name is the pod's, so
 * without NODE_NAME the agent would watch the pods of a node that does not exist.
 */
export function kubernetesCheck(env: Readonly<Record<string, string | undefined>>, inCluster = kubernetesConfigured()): DoctorCheck {
  const base = { id: 'kubernetes', title: 'kubernetes pod metadata', required: false };
  if (!inCluster) {
    return { ...base, status: 'ok', detail: 'no in-cluster service account: pod metadata only with kubernetes.kubeconfig' };
  }
  if (!env['NODE_NAME']) {
    return {
      ...base, status: 'warn', detail: 'in-cluster service account, but NODE_NAME is not set: pods would be looked up under the host name',
      fix: 'set NODE_NAME from fieldRef spec.nodeName (downward API), or agent.nodeName',
    };
  }
  return { ...base, status: 'ok', detail: `in-cluster service account; pods of node ${env['NODE_NAME']} (needs get, list and watch on pods)` };
}

function checkHook(objPath: string, hook: HookSpec, tfs: TracefsState, caps: ReadonlySet<CapName>): DoctorCheck {
  const base = { id: hook.id, title: hook.title, required: hook.required };
  if (hook.id === 'hook.tracepoint' && tfs.state !== 'readable') {
    return {
      ...base, status: 'unavailable',
      detail: tfs.state === 'not-mounted' ? 'tracefs is not mounted: tracepoint ids cannot be resolved'
        : `${tfs.file} is not readable by this process (${tfs.errno}): tracepoint ids cannot be resolved`,
    };
  }
  const spec = openObjectFile(objPath, 'doctor');
  try {
    for (const p of spec.programs) spec.setAutoload(p.name, p.name === hook.program);
    const obj = spec.load();
    try {
      if (!hook.attach) return { ...base, status: 'ok', detail: 'loads' };
      hook.attach(obj.program(hook.program));
      return { ...base, status: 'ok', detail: 'loads and attaches' };
    } finally {
      obj.close();
    }
  } catch (err) {
    spec.close();
    const cap = err instanceof PermissionError && !caps.has(err.capability as CapName) ? err.capability : undefined;
    return {
      ...base,
      status: hook.required ? 'fail' : 'unavailable',
      detail: cap ? `needs ${cap}, which this process lacks (${msg(err)})` : msg(err),
      ...(hook.required ? { fix: cap ? `grant ${cap}` : 'this kernel lacks a hook the agent needs; see the detail' } : {}),
    };
  }
}

/**
 * tracefs: not mounted, mounted but not readable by this process (root-only
 * by default, so every non-root agent sees this), or readable. The probes
 * need none of it (tp_btf), so it is never required.
 */
export function tracefsCheck(tfs: TracefsState, uid: number | undefined): DoctorCheck {
  const base = { id: 'mount.tracefs', title: 'tracefs', required: false };
  const without = 'the probes use tp_btf instead, and TCP drop and reset reason names come from the kernel\'s BTF';
  if (tfs.state === 'readable') return { ...base, status: 'ok', detail: `mounted at ${tfs.dir}, readable` };
  if (tfs.state === 'not-mounted') {
    return { ...base, status: 'warn', detail: `not mounted: ${without}`, fix: 'maxpro doctor --fix (or: mount -t tracefs tracefs /sys/kernel/tracing)' };
  }
  return {
    ...base, status: 'warn',
    detail: `mounted at ${tfs.dir} but not readable by uid ${uid ?? '?'} (${tfs.errno} on ${tfs.file}): ${without}`,
  };
}

/**
 * One check per capability the probes use (src/probes/probe-capabilities.ts),
 * each naming what is lost without it, then the ones no probe needs.
 * CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (kernels < 5.8).
 */
export function capabilityChecks(caps: ReadonlySet<CapName>, root: boolean, canReadOthersExe: () => boolean = otherExeReadable): DoctorCheck[] {
  const out = CAPABILITY_GRANTS.map((g) => grantCheck(g, caps, root, canReadOthersExe));
  const net = caps.has('CAP_NET_ADMIN');
  out.push({
    id: 'caps.net_admin', title: 'CAP_NET_ADMIN', required: false, status: net ? 'ok' : 'unavailable',
    detail: net ? 'held' : 'not held: XDP and TC hooks cannot load or attach (no MaxPro probe uses them)',
  });
  return out;
}

/** The check id of a capability: `caps.bpf` for CAP_BPF. */
export function capabilityCheckId(cap: CapName): string {
  return `caps.${cap.slice('CAP_'.length).toLowerCase()}`;
}

function grantCheck(g: CapabilityGrant, caps: ReadonlySet<CapName>, root: boolean, canReadOthersExe: () => boolean): DoctorCheck {
  const base = { id: capabilityCheckId(g.capability), title: g.capability, required: g.required };
  const probes = `${g.probes.join(' and ')} probe${g.probes.length > 1 ? 's' : ''}`;
  const fix = `grant ${g.capability} (as root: setcap, the systemd unit's AmbientCapabilities=, or the pod's securityContext.capabilities.add)`;
  // CAP_SYS_ADMIN stands in for the two capabilities split out of it in 5.8.
  const asAdmin = (g.capability === 'CAP_BPF' || g.capability === 'CAP_PERFMON') && caps.has('CAP_SYS_ADMIN');
  if (caps.has(g.capability) || asAdmin) {
    return { ...base, status: 'ok', detail: `held${caps.has(g.capability) ? '' : ' (as CAP_SYS_ADMIN)'}${root ? '; root' : ''}: ${g.why} (${probes})` };
  }
  // /proc/<pid>/exe of other users may be readable anyway (same uid, no hidepid): then nothing is lost.
  if (g.capability === 'CAP_SYS_PTRACE' && canReadOthersExe()) {
    return { ...base, status: 'ok', detail: 'not held; /proc/<pid>/exe of other users is readable anyway' };
  }
  return { ...base, status: g.required ? 'fail' : 'warn', detail: `missing (used by the ${probes}): ${g.without}`, fix };
}

/* readlink(/proc/1/exe): a process of another user (or with more capabilities). */
function otherExeReadable(): boolean {
  try {
    readlinkSync('/proc/1/exe');
    return true;
  } catch {
    return false;
  }
}

function finish(kernel: string, checks: DoctorCheck[], libbpf: string | undefined): DoctorReport {
  return { ok: checks.every((c) => !c.required || c.status === 'ok' || c.status === 'warn'), kernel, ...(libbpf ? { libbpf } : {}), checks };
}

function fixMounts(): void {
  if (!mountsOfType('bpf').includes('/sys/fs/bpf')) execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  if (!tracefsDir()) execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
}

function msg(err: unknown): string {
  if (err instanceof MaxproError) {
    const cause = err.cause instanceof Error ? err.cause.message : '';
    return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
