// SPDX-License-Identifier: Apache-2.0
// Both ways of telling a process exit from a thread exit, on this kernel:
// the tracepoint's group_dead argument, and the thread-group-leader
// fallback loaded where the tracepoint lacks it. Each must give exactly one
// exit event per process, with its code, for a single-threaded shell and
// for a multi-threaded Node process.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { createProcessProbe } from '../../../src/probes/process/process-probe.js';
import type { ProcessExitEvent } from '../../../src/probes/process/process-event.js';

const skip = kernelSkip();

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.once('error', reject);
    c.once('spawn', () => resolve(c.pid!));
  });
}

describe('process exit hook', { skip, timeout: 60_000 }, () => {
  for (const hook of ['group-dead', 'leader'] as const) {
    test(`${hook}: one exit event per process, with its code`, async () => {
      const exits: ProcessExitEvent[] = [];
      const probe = createProcessProbe({ exitHook: hook, onEvents: (evs) => { for (const e of evs) if (e.type === 'exit') exits.push(e); } });
      try {
        assert.equal(probe.exitHook, hook);
        // node runs several threads (libuv pool, V8 platform workers); exit_group ends them all.
        const pids = [
          { pid: await run('/bin/sh', ['-c', 'exit 3']), code: 3 },
          { pid: await run(process.execPath, ['-e', 'setTimeout(() => process.exit(4), 50)']), code: 4 },
        ];
        const mine = (pid: number): ProcessExitEvent[] => exits.filter((e) => e.pid === pid);
        assert.ok(await waitFor(() => pids.every((p) => mine(p.pid).length > 0), 10_000), 'every exit arrives');
        await new Promise((r) => setTimeout(r, 200)); // room for a duplicate to show up
        probe.flush();
        for (const { pid, code } of pids) {
          assert.equal(mine(pid).length, 1, `pid ${pid}: ${mine(pid).length} exit events`);
          assert.equal(mine(pid)[0]!.exitCode, code);
        }
      } finally {
        await probe.close();
      }
    });
  }
});
