// SPDX-License-Identifier: Apache-2.0
// The agent as a non-root user holding exactly the capabilities of the
// systemd unit's AmbientCapabilities= (which must equal the probes' list in
// src/probes/probe-capabilities.ts and the Helm chart's grants): it loads the
// process and TCP probes, serves /metrics and counts an exec and a TCP
// connection. With any one of those capabilities removed, `maxpro doctor`
// names it and what it disables, and a probe that cannot load says which
// capability or file it needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';
import { k8sToolsSkip } from '../../helpers/k8s-tools.js';
import { CHART, QUICK_START, render } from '../../integration/deploy/chart-fixture.js';
import type { DoctorReport } from '../../../src/doctor/run-doctor.js';
import { capabilityCheckId } from '../../../src/doctor/run-doctor.js';
import { CAPABILITY_GRANTS, capabilitiesFor } from '../../../src/probes/probe-capabilities.js';
import { UNIT_FILE, unitAmbientCapabilities } from '../../helpers/systemd-unit.js';
import { dropReasonNames, resetReasonNames } from '../../../src/probes/tcp/kernel-reasons.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const PROBE_MODULE = fileURLToPath(new URL('../../../src/probes/process/process-probe.js', import.meta.url));
const REASONS_MODULE = fileURLToPath(new URL('../../../src/probes/tcp/kernel-reasons.js', import.meta.url));
/** nobody: owns nothing the agent reads. */
const UID = 65534;

/**
 * The capabilities the chart's DaemonSet adds for the quick start (TCP and
 * exec probing on): rendered with helm when it is built, else read from the
 * template with every conditional taken (exec probing on).
 */
function chartCapabilities(): { caps: string[]; source: string } {
  if (!k8sToolsSkip('helm')) {
    const ds = render(QUICK_START).find((o) => o.kind === 'DaemonSet') as unknown as
      { spec: { template: { spec: { containers: { name: string; securityContext: { runAsUser: number; capabilities: { drop: string[]; add: string[] } } }[] } } } };
    const agent = ds.spec.template.spec.containers.find((c) => c.name === 'agent')!;
    assert.deepEqual(agent.securityContext.capabilities.drop, ['ALL']);
    return { caps: agent.securityContext.capabilities.add, source: 'helm template' };
  }
  const text = readFileSync(join(CHART, 'templates', 'daemonset.yaml'), 'utf8');
  const block = /\n(\s*)add:\n([\s\S]*?)\n\s*volumeMounts:/.exec(text)?.[2] ?? '';
  const caps = [...block.matchAll(/^\s*-\s+([A-Z_]+)\s*$/gm)].map((m) => m[1]!);
  return { caps, source: 'templates/daemonset.yaml' };
}

function setpriv(caps: string[]): string[] {
  const set = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
  return [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`];
}

function skipReason(): string | false {
  const k = kernelSkip();
  if (k) return k;
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0) return 'needs setpriv (util-linux) to drop to a non-root user with chosen capabilities';
  // The user must reach the repository: a checkout under a 0700 home is out of its reach.
  const r = spawnSync('setpriv', [...setpriv([]), process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(BIN)}, require('fs').constants.R_OK)`]);
  if (r.status !== 0) return `uid ${UID} cannot read ${BIN}: the checkout is not readable by other users`;
  return false;
}

const skip = skipReason();

interface Run { child: ChildProcess; out: () => string }

function startAgent(caps: string[], port: number, pinDir: string, home: string): Run {
  const child = spawn('setpriv', [...setpriv(caps), process.execPath, BIN, 'agent', '--listen', `127.0.0.1:${port}`, '--pin-dir', pinDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: home, TMPDIR: home, MAXPRO_STATE_DIR: `${home}/state` },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return { child, out: () => out };
}

async function stop(run: Run): Promise<number | null> {
  if (run.child.exitCode !== null) return run.child.exitCode;
  const exited = new Promise<number | null>((r) => run.child.on('exit', (code) => r(code)));
  run.child.kill('SIGTERM');
  return exited;
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

/** The sum of every series of a family (`name` or `name{...}`). */
function total(text: string, name: string): number {
  let sum = 0;
  for (const l of text.split('\n')) if (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}

function doctor(caps: string[], home: string): DoctorReport {
  const r = spawnSync('setpriv', [...setpriv(caps), process.execPath, BIN, 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, HOME: home }, timeout: 60_000 });
  assert.ok(r.stdout, r.stderr);
  return JSON.parse(r.stdout) as DoctorReport;
}

/** Loads the process probe as the user; prints the outcome as JSON. */
function loadProcessProbe(caps: string[], syscallHook: string): { ok: boolean; syscallHook?: string; code?: string; capability?: string; file?: string; message?: string } {
  const script = `
    const { createProcessProbe } = await import(${JSON.stringify(PROBE_MODULE)});
    try {
      const p = createProcessProbe({ syscallHook: ${JSON.stringify(syscallHook)}, onEvents() {} });
      const hook = p.syscallHook;
      await p.close();
      console.log(JSON.stringify({ ok: true, syscallHook: hook }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, code: err.code, capability: err.capability, file: err.file, message: err.message }));
    }`;
  const r = spawnSync('setpriv', [...setpriv(caps), process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.ok(r.stdout, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof loadProcessProbe>;
}

/** The unit's ambient set, as setpriv names capabilities (no CAP_ prefix). */
const UNIT_CAPS = unitAmbientCapabilities(readFileSync(UNIT_FILE, 'utf8')).map((c) => c.replace(/^CAP_/, ''));

describe(`agent as uid ${UID} with the systemd unit's capabilities`, { skip, timeout: 240_000 }, () => {
  const unit = { caps: UNIT_CAPS, source: 'deploy/systemd/maxpro-agent.service' };
  const pinDir = `/sys/fs/bpf/maxpro-nonroot-${process.pid}`;
  let home: string;

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'maxpro-nonroot-'));
    chownSync(home, UID, UID);
    // The pin directory the user may write: a per-test directory in bpffs.
    mkdirSync(pinDir);
    chownSync(pinDir, UID, UID);
  });
  after(() => {
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  test('the unit and the chart grant exactly what the probes need, nothing broad', () => {
    assert.deepEqual(unit.caps.map((c) => `CAP_${c}`), capabilitiesFor(), unit.source);
    const rendered = chartCapabilities();
    assert.deepEqual(rendered.caps, unit.caps, `${rendered.source} (quick start: process and TCP probes)`);
    for (const broad of ['SYS_ADMIN', 'NET_ADMIN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH']) assert.ok(!unit.caps.includes(broad), `${unit.source} adds ${broad}`);
  });

  test('doctor passes with exactly those capabilities', () => {
    const report = doctor(unit.caps, home);
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => c.status !== 'ok')));
    for (const cap of unit.caps) {
      const check = report.checks.find((c) => c.id === `caps.${cap.toLowerCase()}`);
      assert.equal(check?.status, 'ok', `caps.${cap.toLowerCase()}: ${JSON.stringify(check)}`);
    }
    // tracefs is root-only here: told apart from "not mounted".
    const tfs = report.checks.find((c) => c.id === 'mount.tracefs')!;
    if (tfs.status !== 'ok') assert.match(tfs.detail, /mounted at \S+ but not readable by uid 65534/);
  });

  test('loads the process and TCP probes, serves /metrics, counts an exec and a TCP connection', async () => {
    const port = await freePort();
    const run = startAgent(unit.caps, port, pinDir, home);
    const server = createServer((s) => s.end('x'));
    try {
      assert.ok(await waitFor(() => /probes: process, tcp\b/.test(run.out()), 60_000), run.out());
      const url = `http://127.0.0.1:${port}/metrics`;
      const before = await (await fetch(url)).text();
      assert.equal(sample(before, 'maxpro_probe_loaded{probe="process"}'), 1, before.slice(0, 2000));
      assert.equal(sample(before, 'maxpro_probe_loaded{probe="tcp"}'), 1);
      const execs0 = sample(before, 'maxpro_process_events_total{type="exec"}');
      const conns0 = total(before, 'maxpro_tcp_connections_opened_total');
      for (let i = 0; i < 5; i++) spawnSync('/bin/true', [`nonroot-${i}`]);
      // A failed exec goes through the tp_btf sys_exit program (no tracefs for this user).
      spawnSync(`/nonexistent/maxpro-nonroot-${process.pid}`);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port: sport } = server.address() as { port: number };
      await new Promise<void>((resolve, reject) => {
        const c = connect(sport, '127.0.0.1');
        c.on('error', reject);
        c.on('data', () => undefined);
        c.on('end', () => { c.end(); resolve(); });
      });
      let after = '';
      const counted = await waitFor(() => {
        void fetch(url).then((r) => r.text()).then((t) => { after = t; }, () => undefined);
        return sample(after, 'maxpro_process_events_total{type="exec"}') >= execs0 + 6
          && total(after, 'maxpro_tcp_connections_opened_total') >= conns0 + 2; // our connect and its accept
      }, 30_000, 500);
      assert.ok(counted, `execs ${execs0} -> ${sample(after, 'maxpro_process_events_total{type="exec"}')}, connections ${conns0} -> ${total(after, 'maxpro_tcp_connections_opened_total')}\n${run.out()}`);
    } finally {
      server.close();
      const code = await stop(run);
      assert.equal(code, 0, run.out());
    }
  });

  test('the process probe catches failed execs through tp_btf; forcing the tracepoints names the tracefs file', () => {
    assert.deepEqual(loadProcessProbe(unit.caps, 'auto'), { ok: true, syscallHook: 'tp_btf' });
    const forced = loadProcessProbe(unit.caps, 'tracepoint');
    assert.equal(forced.ok, false);
    assert.equal(forced.code, 'MAXPRO_ERR_EBPF_TRACEFS', forced.message);
    assert.match(forced.file ?? '', /\/events\/syscalls\/sys_(enter|exit)_execve(at)?\/id$/);
  });

  test('TCP drop and reset reasons keep their names without tracefs (from the kernel\'s BTF)', () => {
    const script = `const m = await import(${JSON.stringify(REASONS_MODULE)});
      console.log(JSON.stringify([m.dropReasonNames().name(2), m.resetReasonNames().name(0)]));`;
    const r = spawnSync('setpriv', [...setpriv(unit.caps), process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.deepEqual(JSON.parse(r.stdout), [dropReasonNames().name(2), resetReasonNames().name(0)], r.stderr);
    assert.doesNotMatch(r.stdout, /reason_/);
  });

  for (const grant of CAPABILITY_GRANTS) {
    const removed = grant.capability.replace(/^CAP_/, '');
    test(`without ${grant.capability}: doctor names it and what it disables, and a probe that cannot load says so`, () => {
      const caps = unit.caps.filter((c) => c !== removed);
      assert.equal(caps.length, unit.caps.length - 1, `${unit.source} grants ${grant.capability}`);
      const report = doctor(caps, home);
      const check = report.checks.find((c) => c.id === capabilityCheckId(grant.capability));
      assert.ok(check, `doctor has a check for ${grant.capability}`);
      assert.equal(check.title, grant.capability);
      // Without CAP_SYS_PTRACE, /proc/1/exe (root's) is out of reach of uid 65534: nothing reads it anyway.
      assert.equal(check.status, grant.required ? 'fail' : 'warn', JSON.stringify(check));
      assert.ok(check.detail.includes(grant.without), check.detail);
      assert.match(check.fix ?? '', new RegExp(`grant ${grant.capability}`));
      if (grant.required) {
        assert.equal(report.ok, false);
        const load = loadProcessProbe(caps, 'auto');
        assert.equal(load.ok, false);
        assert.equal(load.code, 'MAXPRO_ERR_EBPF_PERMISSION', load.message);
        assert.equal(load.capability, grant.capability, load.message);
      } else {
        assert.equal(report.ok, true, 'exec probing without CAP_SYS_PTRACE loses executable paths, not the agent');
      }
    });
  }
});

