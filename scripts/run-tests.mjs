#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Runs lint, then every test tier in one node:test run, so one summary closes the log.
// Tiers: unit (no root), kernel (real BPF; skip with a stated reason without root),
// integration (real Prometheus, collectors, netns). Pass tier names to run a subset.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync, mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tiers = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const wanted = tiers.length ? tiers : ['unit', 'kernel', 'integration'];

function collect(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// With MAXPRO_TEST_RECORD_DIR (set by .ci/run), lint's duration goes to steps.ndjson and every
// test's result to tests.ndjson (tools/ci/test-record-reporter.ts), next to the usual output.
const recordDir = process.env.MAXPRO_TEST_RECORD_DIR;
const reporter = join(root, 'dist', 'tools', 'ci', 'test-record-reporter.js');
function recordStep(name, startMs, status) {
  if (!recordDir) return;
  try {
    appendFileSync(join(recordDir, 'steps.ndjson'), `${JSON.stringify({ kind: 'step', name, startMs, durationMs: Date.now() - startMs, status })}\n`);
  } catch (err) {
    console.error(`run-tests: cannot record step ${name} in ${recordDir}: ${err.message}`);
  }
}

if (!tiers.length) {
  const lintStart = Date.now();
  const lint = spawnSync('npx', ['--no-install', 'eslint', '.'], { cwd: root, stdio: 'inherit' });
  recordStep('lint', lintStart, lint.status ?? 1);
  if (lint.status !== 0) {
    console.error('lint failed');
    process.exit(lint.status ?? 1);
  }
}

const files = wanted.flatMap((t) => collect(join(root, 'dist', 'test', t)));
if (files.length === 0) {
  console.error(`no test files found for ${wanted.join(', ')}; did the build run?`);
  process.exit(1);
}
// Kernel and integration tests share the machine's BPF state, ports and CPU:
// files run one at a time so timing-sensitive checks see a quiet machine.
// Token and endpoint files of the agents and collectors the tests start go to a
// fresh state directory, not the machine's (/var/lib/maxpro for root).
const stateDir = process.env.MAXPRO_STATE_DIR ? undefined : mkdtempSync(join(tmpdir(), 'maxpro-test-state-'));
// The console keeps node's default reporter (spec on a terminal, TAP otherwise); the record is a second one.
const record = recordDir && existsSync(reporter)
  ? ['--test-reporter', process.stdout.isTTY ? 'spec' : 'tap', '--test-reporter-destination', 'stdout',
    '--test-reporter', reporter, '--test-reporter-destination', join(recordDir, 'tests.ndjson')]
  : [];
if (recordDir && !record.length) console.error(`run-tests: ${reporter} is missing (build first): test results are not recorded`);
const testStart = Date.now();
const res = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...record, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    MAXPRO_TESTDATA: process.env.MAXPRO_TESTDATA ?? join(root, '..', 'shared', 'testdata'),
    ...(stateDir ? { MAXPRO_STATE_DIR: stateDir } : {}),
  },
});
recordStep('tests', testStart, res.status ?? 1);
if (stateDir) rmSync(stateDir, { recursive: true, force: true });
process.exit(res.status ?? 1);
