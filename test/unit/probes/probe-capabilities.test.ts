// SPDX-License-Identifier: Apache-2.0
// The probes' capability list (src/probes/probe-capabilities.ts) against everything that
// restates it: the systemd unit, the chart's DaemonSet template, docs/privileges.md and the
// doctor's checks. The kernel test (test/kernel/agent/agent-nonroot.test.ts) runs the agent
// with the unit's set and removes each capability in turn.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CAPABILITY_GRANTS, NOT_GRANTED, capabilitiesFor } from '../../../src/probes/probe-capabilities.js';
import { PROBE_NAMES } from '../../../src/probes/registry.js';
import { capabilityCheckId, capabilityChecks } from '../../../src/doctor/run-doctor.js';
import type { CapName } from '../../../src/ebpf/capabilities.js';
import { unitDirectives, UNIT_FILE } from '../../helpers/systemd-unit.js';

const repo = (p: string): string => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));

describe('probe capabilities', () => {
  test('every probe is covered and every grant names a registered probe', () => {
    for (const g of CAPABILITY_GRANTS) for (const p of g.probes) assert.ok(PROBE_NAMES.includes(p), `${g.capability}: ${p}`);
    for (const p of PROBE_NAMES) assert.ok(capabilitiesFor([p]).includes('CAP_BPF'), `${p} needs CAP_BPF`);
    const granted = new Set(capabilitiesFor());
    for (const n of NOT_GRANTED) assert.ok(!granted.has(n.capability), `${n.capability} is both granted and not`);
  });

  const cases: { probes: (typeof PROBE_NAMES)[number][]; want: CapName[] }[] = [
    { probes: ['process', 'tcp'], want: ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE'] },
    { probes: ['tcp'], want: ['CAP_BPF', 'CAP_PERFMON'] },
    { probes: ['process'], want: ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE'] },
    { probes: [], want: [] },
  ];
  for (const c of cases) {
    test(`${c.probes.join('+') || 'no probe'} -> ${c.want.join(' ') || 'nothing'}`, () => assert.deepEqual(capabilitiesFor(c.probes), c.want));
  }
});

describe('the systemd unit', () => {
  const d = unitDirectives(readFileSync(UNIT_FILE, 'utf8'));
  const words = (k: string): string[] => (d.get(k) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

  test('ambient and bounding sets are exactly the probes\' capabilities', () => {
    assert.deepEqual(words('AmbientCapabilities'), capabilitiesFor());
    assert.deepEqual(words('CapabilityBoundingSet'), capabilitiesFor());
  });

  test('runs as an unprivileged user that cannot gain privileges', () => {
    const user = d.get('User')?.[0];
    assert.ok(user && user !== 'root' && user !== '0', `User=${user}`);
    assert.deepEqual(d.get('NoNewPrivileges'), ['yes']);
    assert.deepEqual(d.get('ProtectSystem'), ['strict']);
    assert.deepEqual(d.get('ProtectHome'), ['yes']);
    assert.ok(!d.has('ProtectProc'), 'the process probe reads other processes\' /proc/<pid>');
    assert.ok(!d.has('MemoryDenyWriteExecute'), 'V8 needs writable executable memory');
    assert.match(d.get('ExecStart')?.[0] ?? '', /maxpro\.js agent\b.*--pin-dir \/sys\/fs\/bpf\/maxpro/);
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
  test('systemd-analyze verify finds nothing to say about it', { skip: analyze ? false : 'needs systemd-analyze (systemd) to parse the unit' }, () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT_FILE], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    // Unknown keys and bad values are warnings, not a failing exit status.
    const about = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('maxpro-agent.service'));
    assert.deepEqual(about, []);
  });
});

describe('the chart and the docs', () => {
  test('the DaemonSet adds the probes\' capabilities; SYS_PTRACE only with the process probe\'s exec paths', () => {
    const text = readFileSync(repo('deploy/helm/ebpf-probe/templates/daemonset.yaml'), 'utf8');
    const block = /\n\s*add:\n([\s\S]*?)\n\s*volumeMounts:/.exec(text)?.[1] ?? '';
    const all: string[] = [];
    const unconditional: string[] = [];
    let depth = 0;
    for (const line of block.split('\n')) {
      if (/\{\{-?\s*if\b/.test(line)) depth++;
      else if (/\{\{-?\s*end\b/.test(line)) depth--;
      const cap = /^\s*-\s+([A-Z_]+)\s*$/.exec(line)?.[1];
      if (!cap) continue;
      all.push(`CAP_${cap}`);
      if (depth === 0) unconditional.push(`CAP_${cap}`);
    }
    assert.deepEqual(all, capabilitiesFor());
    assert.deepEqual(unconditional, capabilitiesFor(['tcp']));
    assert.match(block, /if \.Values\.probe\.enableProcessExec[\s\S]*- SYS_PTRACE/);
  });

  test('docs/privileges.md has one row per grant and per capability not granted', () => {
    const text = readFileSync(repo('docs/privileges.md'), 'utf8');
    const rows = new Map([...text.matchAll(/^\| `(CAP_[A-Z_]+)` \| ([^|]+)\|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    for (const g of CAPABILITY_GRANTS) assert.equal(rows.get(g.capability), g.probes.join(', '), `${g.capability} row`);
    for (const n of NOT_GRANTED) assert.equal(rows.get(n.capability), 'none (not granted)', `${n.capability} row`);
    assert.equal(rows.size, CAPABILITY_GRANTS.length + NOT_GRANTED.length);
  });
});

describe('doctor, one capability removed at a time', () => {
  for (const g of CAPABILITY_GRANTS) {
    test(`without ${g.capability}: names it and what it disables`, () => {
      const held = new Set(capabilitiesFor().filter((c) => c !== g.capability));
      const checks = capabilityChecks(held, false, () => false);
      const check = checks.find((c) => c.id === capabilityCheckId(g.capability));
      assert.ok(check, capabilityCheckId(g.capability));
      assert.equal(check.status, g.required ? 'fail' : 'warn');
      assert.equal(check.title, g.capability);
      assert.ok(check.detail.includes(g.without), check.detail);
      assert.match(check.fix ?? '', new RegExp(`grant ${g.capability}`));
      for (const other of checks.filter((c) => c.id !== check.id && c.id !== 'caps.net_admin')) assert.equal(other.status, 'ok', other.id);
    });
  }
});
