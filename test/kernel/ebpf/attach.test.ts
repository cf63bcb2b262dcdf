// SPDX-License-Identifier: Apache-2.0
// Every attach kind, end to end: a real program per hook counts its runs,
// the test triggers the hook and checks the count.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdirSync, rmdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { openObjectFile, bpfObjectDir, NotSupportedError, PermissionError } from '../../../src/ebpf/index.js';
import type { BpfObject, Link } from '../../../src/ebpf/index.js';
import { libcPath } from '../../../src/doctor/system-info.js';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createVethPair } from '../../helpers/netns.js';
import type { VethPair } from '../../helpers/netns.js';

const skip = kernelSkip();
const OBJ = (): string => resolve(bpfObjectDir(), 'testdata/attach_all.bpf.o');
const CALLS = 1000;

function hits(obj: BpfObject, slot: number): bigint {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, slot, true);
  return obj.map('hits').sumU64(k);
}

function callGetppid(n: number): void {
  for (let i = 0; i < n; i++) void process.ppid; // each read is a getppid(2)
}

interface Scenario {
  name: string;
  program: string;
  slot: number;
  attach(obj: BpfObject, env: Env): Link;
  trigger(env: Env): Promise<void> | void;
  /** Exact count, or a minimum when the trigger is not exactly countable. */
  expect: { exactly: number } | { atLeast: number };
  /** Optional kinds that this kernel may lack (detected at run time). */
  optional?: boolean;
}

interface Env {
  veth: VethPair;
  cgroup: string;
  sock: Socket;
  sockPort: number;
}

const scenarios: Scenario[] = [
  { name: 'tracepoint', program: 't_tracepoint', slot: 0, attach: (o) => o.program('t_tracepoint').attachTracepoint('syscalls', 'sys_enter_getppid'), trigger: () => callGetppid(CALLS), expect: { exactly: CALLS } },
  { name: 'raw tracepoint', program: 't_raw_tp', slot: 1, attach: (o) => o.program('t_raw_tp').attachRawTracepoint('sys_enter'), trigger: () => callGetppid(CALLS), expect: { exactly: CALLS } },
  { name: 'tp_btf', program: 't_tp_btf', slot: 2, attach: (o) => o.program('t_tp_btf').attachTrace(), trigger: () => callGetppid(CALLS), expect: { exactly: CALLS } },
  { name: 'uprobe', program: 't_uprobe', slot: 3, attach: (o) => o.program('t_uprobe').attachUprobe({ path: libcPath() ?? '/lib/x86_64-linux-gnu/libc.so.6', func: 'getppid', pid: process.pid }), trigger: () => callGetppid(CALLS), expect: { exactly: CALLS } },
  { name: 'uretprobe', program: 't_uretprobe', slot: 4, attach: (o) => o.program('t_uretprobe').attachUprobe({ path: libcPath() ?? '/lib/x86_64-linux-gnu/libc.so.6', func: 'getppid', pid: process.pid, ret: true }), trigger: () => callGetppid(CALLS), expect: { exactly: CALLS } },
  { name: 'perf_event (cpu-clock sampling)', program: 't_perf_event', slot: 5, attach: (o) => o.program('t_perf_event').attachPerfEvent({ type: 1, config: 0, sampleFreq: 1000, cpu: 0 }), trigger: () => sleep(200), expect: { atLeast: 20 } },
  { name: 'XDP on a veth', program: 't_xdp', slot: 6, attach: (o, e) => o.program('t_xdp').attachXdp(e.veth.hostIndex), trigger: (e) => sendFromPeer(e), expect: { atLeast: 3 } },
  { name: 'TC ingress on a veth', program: 't_tc', slot: 7, attach: (o, e) => o.program('t_tc').attachTc(e.veth.hostIndex, { direction: 'ingress' }), trigger: (e) => sendFromPeer(e), expect: { atLeast: 3 } },
  { name: 'socket filter', program: 't_socket', slot: 8, attach: (o, e) => o.program('t_socket').attachSocketFilter(socketFd(e.sock)), trigger: (e) => sendToSocket(e, 3), expect: { atLeast: 3 } },
  { name: 'cgroup_skb egress', program: 't_cgroup_skb', slot: 9, attach: (o, e) => o.program('t_cgroup_skb').attachCgroup(e.cgroup), trigger: (e) => sendFromCgroup(e), expect: { atLeast: 1 } },
  { name: 'kprobe (optional)', program: 't_kprobe', slot: 10, attach: (o) => o.program('t_kprobe').attachKprobe('vfs_read'), trigger: () => void execFileSync('true'), expect: { atLeast: 0 }, optional: true },
];

function socketFd(s: Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  assert.ok(typeof fd === 'number' && fd >= 0, 'UDP socket exposes its fd');
  return fd;
}

function sendFromPeer(e: Env): void {
  for (let i = 0; i < 3; i++) {
    e.veth.exec(['bash', '-c', `echo ping > /dev/udp/${e.veth.hostAddr}/9`]);
  }
}

async function sendToSocket(e: Env, n: number): Promise<void> {
  const client = createSocket('udp4');
  for (let i = 0; i < n; i++) await new Promise<void>((r, j) => client.send('x', e.sockPort, '127.0.0.1', (err) => (err ? j(err) : r())));
  client.close();
  await sleep(50);
}

function sendFromCgroup(e: Env): void {
  execFileSync('bash', ['-c', `echo $$ > ${e.cgroup}/cgroup.procs && echo hi > /dev/udp/127.0.0.1/9`]);
}

describe('attach kinds', { skip }, () => {
  const env = {} as Env;
  before(async () => {
    env.veth = createVethPair('mxat', 213);
    env.cgroup = `/sys/fs/cgroup/unified/maxpro-attach-test-${process.pid}`;
    mkdirSync(env.cgroup, { recursive: true });
    env.sock = createSocket('udp4');
    await new Promise<void>((r) => env.sock.bind(0, '127.0.0.1', () => r()));
    env.sockPort = env.sock.address().port;
  });
  after(() => {
    env.veth?.close();
    env.sock?.close();
    if (env.cgroup && existsSync(env.cgroup)) rmdirSync(env.cgroup);
  });

  for (const s of scenarios) {
    test(s.name, async (t) => {
      const spec = openObjectFile(OBJ(), 'attach_all');
      for (const p of spec.programs) spec.setAutoload(p.name, p.name === s.program);
      spec.setConstant('targ_tgid', process.pid);
      let obj: BpfObject;
      try {
        obj = spec.load();
      } catch (err) {
        if (s.optional && (err instanceof PermissionError || err instanceof NotSupportedError)) return t.skip(`${s.name} not available on this kernel: ${err.message}`);
        throw err;
      }
      try {
        let link: Link;
        try {
          link = s.attach(obj, env);
        } catch (err) {
          if (s.optional && err instanceof NotSupportedError) return t.skip(`${s.name} not available on this kernel: ${err.message}`);
          throw err;
        }
        await s.trigger(env);
        if ('exactly' in s.expect) {
          assert.equal(hits(obj, s.slot), BigInt(s.expect.exactly));
        } else {
          const min = BigInt(s.expect.atLeast);
          assert.ok(await waitFor(() => hits(obj, s.slot) >= min, 3000), `${s.name}: ${hits(obj, s.slot)} hits, expected >= ${min}`);
        }
        link.destroy();
        link.destroy(); // idempotent
        const after = hits(obj, s.slot);
        await s.trigger(env);
        if (s.slot <= 4) assert.equal(hits(obj, s.slot), after, 'no hits after detach');
      } finally {
        obj.close();
        obj.close();
      }
    });
  }
});
