// SPDX-License-Identifier: Apache-2.0
// `maxpro doctor --json` must agree with what actually loads and attaches:
// each hook it reports is tried here independently, through a different
// object (attach_all), and the two answers must match.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { openObjectFile, bpfObjectDir } from '../../../src/ebpf/index.js';
import type { BpfObject, Link } from '../../../src/ebpf/index.js';
import type { DoctorReport } from '../../../src/doctor/run-doctor.js';
import { libcPath } from '../../../src/doctor/system-info.js';
import { kernelSkip } from '../../helpers/kernel.js';

const skip = kernelSkip();
const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));

function tryHook(program: string, attach?: (obj: BpfObject) => Link): boolean {
  const spec = openObjectFile(resolve(bpfObjectDir(), 'testdata/attach_all.bpf.o'), 'attach_all');
  for (const p of spec.programs) spec.setAutoload(p.name, p.name === program);
  spec.setConstant('targ_tgid', process.pid);
  let obj: BpfObject | undefined;
  try {
    obj = spec.load();
    attach?.(obj);
    return true;
  } catch {
    return false;
  } finally {
    if (obj) obj.close();
    else spec.close();
  }
}

const HOOKS: { id: string; works: () => boolean }[] = [
  { id: 'hook.tracepoint', works: () => tryHook('t_tracepoint', (o) => o.program('t_tracepoint').attachTracepoint('syscalls', 'sys_enter_getppid')) },
  { id: 'hook.raw_tracepoint', works: () => tryHook('t_raw_tp', (o) => o.program('t_raw_tp').attachRawTracepoint('sys_enter')) },
  { id: 'hook.tp_btf', works: () => tryHook('t_tp_btf', (o) => o.program('t_tp_btf').attachTrace()) },
  { id: 'hook.kprobe', works: () => tryHook('t_kprobe', (o) => o.program('t_kprobe').attachKprobe('vfs_read')) },
  { id: 'hook.fentry', works: () => tryHook('t_fentry', (o) => o.program('t_fentry').attachTrace()) },
  { id: 'hook.uprobe', works: () => tryHook('t_uprobe', (o) => o.program('t_uprobe').attachUprobe({ path: libcPath() ?? '', func: 'getppid', pid: process.pid })) },
  { id: 'hook.perf_event', works: () => tryHook('t_perf_event', (o) => o.program('t_perf_event').attachPerfEvent({ type: 1, config: 0, sampleFreq: 1, cpu: 0 })) },
  { id: 'hook.xdp', works: () => tryHook('t_xdp') },
  { id: 'hook.tc', works: () => tryHook('t_tc') },
  { id: 'hook.cgroup_skb', works: () => tryHook('t_cgroup_skb') },
  { id: 'hook.socket_filter', works: () => tryHook('t_socket') },
];

describe('maxpro doctor --json', { skip }, () => {
  test('reports each hook exactly as it really loads here, and exits by the required checks', () => {
    assert.ok(existsSync(BIN));
    const res = spawnSync(process.execPath, [BIN, 'doctor', '--json'], { encoding: 'utf8' });
    const report = JSON.parse(res.stdout) as DoctorReport;
    assert.equal(res.status, report.ok ? 0 : 1);
    for (const h of HOOKS) {
      const check = report.checks.find((c) => c.id === h.id);
      assert.ok(check, `doctor reports ${h.id}`);
      const works = h.works();
      assert.equal(check.status === 'ok', works, `${h.id}: doctor says ${check.status} (${check.detail}), a real attempt ${works ? 'works' : 'fails'}`);
      if (!works) assert.ok(check.detail.length > 0, `${h.id} says why`);
    }
    const required = report.checks.filter((c) => c.required);
    assert.equal(report.ok, required.every((c) => c.status === 'ok' || c.status === 'warn'));
  });

  test('the human form names what failed and how to fix it', () => {
    const res = spawnSync(process.execPath, [BIN, 'doctor'], { encoding: 'utf8' });
    assert.match(res.stdout, /CHECK\s+STATUS\s+DETAIL/);
    assert.match(res.stdout, res.status === 0 ? /The agent can run on this node\./ : /The agent cannot run:/);
  });
});
