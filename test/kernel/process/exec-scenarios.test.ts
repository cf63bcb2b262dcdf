// SPDX-License-Identifier: Apache-2.0
// 10,000 execs of eight kinds (successful, ENOENT, EACCES, argv beyond the
// limits, exec from a non-leader thread, and failed ones with long argv,
// through execveat and from a thread): each must be reported exactly once,
// with the right pid, ppid, argv, return value and flags, and nothing may be
// lost. Once per way of catching failed execs: the syscall tracepoints (need
// tracefs) and tp_btf on sys_exit (needs none).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelSkip, sleep } from '../../helpers/kernel.js';
import { createProcessProbe } from '../../../src/probes/process/process-probe.js';
import type { ProcessProbe, ProcessProbeStats, ProcessSyscallHook } from '../../../src/probes/process/process-probe.js';
import { PROCESS_FLAG } from '../../../src/probes/process/process-event.js';
import type { ProcessEvent, ProcessExecEvent } from '../../../src/probes/process/process-event.js';
import { buildExecDriver } from './exec-driver.js';
import type { DriverRun, ExecDriver } from './exec-driver.js';

const COUNT = 10_000;
const MAX_ARGS = 128;
const MAX_ARG_BYTES = 4096;
const skip = kernelSkip();

interface Scenario {
  name: string;
  retval: number;
  truncated: boolean;
  threadExec: boolean;
  execveat?: boolean;
  /** Expected argv given the token (for `long`, before the cut). */
  argv(token: string, noexec: string): string[];
  filename(token: string, noexec: string): string;
}

const LONG = Array.from({ length: 300 }, (_, k) => `arg${String(k).padStart(3, '0')}-abcdefghijklmnopqrstuvwxyz0123456789`);
const SCENARIOS: Scenario[] = [
  { name: 'ok', retval: 0, truncated: false, threadExec: false, argv: (t) => ['/bin/true', t, 'a2'], filename: () => '/bin/true' },
  { name: 'enoent', retval: -2, truncated: false, threadExec: false, argv: (t) => [`/nonexistent/maxpro/${t}`, t], filename: (t) => `/nonexistent/maxpro/${t}` },
  { name: 'eacces', retval: -13, truncated: false, threadExec: false, argv: (t, n) => [n, t], filename: (_t, n) => n },
  { name: 'long', retval: 0, truncated: true, threadExec: false, argv: (t) => ['/bin/true', t, ...LONG], filename: () => '/bin/true' },
  { name: 'thread', retval: 0, truncated: false, threadExec: true, argv: (t) => ['/bin/true', t, 'thr'], filename: () => '/bin/true' },
  {
    name: 'failed-long', retval: -2, truncated: true, threadExec: false,
    argv: (t) => [`/nonexistent/maxpro/${t}`, t, ...LONG], filename: (t) => `/nonexistent/maxpro/${t}`,
  },
  {
    name: 'execveat', retval: -2, truncated: false, threadExec: false, execveat: true,
    argv: (t) => [`maxpro-missing/${t}`, t, 'at'], filename: (t) => `maxpro-missing/${t}`,
  },
  {
    name: 'failed-thread', retval: -2, truncated: false, threadExec: true,
    argv: (t) => [`/nonexistent/maxpro/${t}`, t, 'thr'], filename: (t) => `/nonexistent/maxpro/${t}`,
  },
];
const HOOKS: ProcessSyscallHook[] = ['tracepoint', 'tp_btf'];

for (const hook of HOOKS) describe(`process probe: exec scenarios (${hook})`, { skip, timeout: 180_000 }, () => {
  let driver: ExecDriver;
  let probe: ProcessProbe;
  let run: DriverRun;
  let stats: ProcessProbeStats;
  const execs = new Map<string, ProcessExecEvent[]>(); // by token
  const prefix = `mpx${process.pid}${hook === 'tp_btf' ? 'b' : 't'}`;

  before(async () => {
    driver = buildExecDriver();
    probe = createProcessProbe({
      syscallHook: hook,
      maxArgs: MAX_ARGS,
      maxArgBytes: MAX_ARG_BYTES,
      onEvents: (events: ProcessEvent[]) => {
        for (const e of events) {
          if (e.type !== 'exec') continue;
          const token = e.args[1];
          if (!token?.startsWith(`${prefix}-`)) continue;
          const list = execs.get(token);
          if (list) list.push(e);
          else execs.set(token, [e]);
        }
      },
    });
    assert.equal(probe.syscallHook, hook);
    run = await driver.run(COUNT, prefix);
    await sleep(100);
    stats = await probe.close();
  });
  after(() => driver?.cleanup());

  test('the driver ran every scenario', () => {
    assert.equal(run.exitCode, 0);
    assert.equal(run.children.length, COUNT);
  });

  test('nothing was lost', () => {
    assert.equal(stats.lost.total, 0, JSON.stringify(stats.lost));
  });

  for (const [kind, sc] of SCENARIOS.entries()) {
    test(`scenario ${sc.name}: each exec reported exactly once with pid, ppid, argv, retval and flags`, () => {
      const children = run.children.filter((c) => c.kind === kind);
      assert.equal(children.length, COUNT / SCENARIOS.length);
      for (const c of children) {
        const token = `${prefix}-${c.index}`;
        const got = execs.get(token) ?? [];
        assert.equal(got.length, 1, `${sc.name} #${c.index}: ${got.length} events`);
        const e = got[0]!;
        const want = sc.argv(token, driver.noexec);
        assert.equal(e.pid, c.pid, `${sc.name} #${c.index} pid`);
        assert.equal(e.ppid, run.driverPid, `${sc.name} #${c.index} ppid`);
        assert.equal(e.retval, sc.retval, `${sc.name} #${c.index} retval`);
        assert.equal(e.filename, sc.filename(token, driver.noexec));
        assert.equal(e.argsTruncated, sc.truncated, `${sc.name} #${c.index} truncation flag`);
        assert.equal(e.argsFault, false);
        assert.equal(e.flags & PROCESS_FLAG.execveat ? true : false, sc.execveat ?? false, `${sc.name} #${c.index} execveat flag`);
        // A failed exec's argc is what was walked: the kernel never counted the arguments.
        assert.equal(e.argc, sc.retval < 0 ? e.args.length : want.length, `${sc.name} #${c.index} argc`);
        if (!sc.truncated) {
          assert.deepEqual(e.args, want);
        } else {
          // Every argument kept is intact except possibly the last, cut by the byte limit.
          assert.ok(e.args.length <= MAX_ARGS && e.args.length > 2);
          assert.deepEqual(e.args.slice(0, -1), want.slice(0, e.args.length - 1));
          assert.ok(want[e.args.length - 1]!.startsWith(e.args.at(-1)!));
          const bytes = e.args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
          assert.ok(bytes <= MAX_ARG_BYTES + 1, `kept ${bytes} bytes`);
        }
        if (sc.threadExec) {
          assert.notEqual(e.oldTid, e.pid, 'the exec came from a non-leader thread');
          assert.ok(e.flags & PROCESS_FLAG.threadExec);
          // After de_thread a successful exec's thread has the leader pid; a failed one stays where it was.
          assert.equal(e.tid, sc.retval < 0 ? e.oldTid : e.pid);
        } else {
          assert.equal(e.oldTid, e.pid);
        }
      }
    });
  }
});
