#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Runs lint, then every test tier in one node:test run, so one summary closes the log.
// Tiers: unit (no root), kernel (real BPF; skip with a stated reason without root),
// integration (real Prometheus, collectors, netns). Pass tier names to run a subset.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
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

if (!tiers.length) {
  const lint = spawnSync('npx', ['--no-install', 'eslint', '.'], { cwd: root, stdio: 'inherit' });
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
const res = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    MAXPRO_TESTDATA: process.env.MAXPRO_TESTDATA ?? join(root, '..', 'shared', 'testdata'),
    ...(stateDir ? { MAXPRO_STATE_DIR: stateDir } : {}),
  },
});
if (stateDir) rmSync(stateDir, { recursive: true, force: true });
process.exit(res.status ?? 1);
