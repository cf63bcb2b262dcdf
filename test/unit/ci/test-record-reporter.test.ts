// SPDX-License-Identifier: Apache-2.0
// The CI's test reporter: node:test events to records (paths, outcomes, durations), checked
// on a real `node --test` run next to the TAP reporter, whose output must stay as it was.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestRecorder, sourceFile } from '../../../tools/ci/test-record-reporter.js';
import type { SummaryRecord, TestRecord } from '../../../tools/ci/test-record-reporter.js';

const REPORTER = fileURLToPath(new URL('../../../tools/ci/test-record-reporter.js', import.meta.url));
/** Without the runner's NODE_TEST_CONTEXT, or the child would report to this run instead of running. */
const { NODE_TEST_CONTEXT: _, ...ENV } = process.env;

const FIXTURE = `
import { describe, test } from 'node:test';
describe('outer', () => {
  test('passes', () => {});
  test('skipped', { skip: 'no reason' }, () => {});
  test('todo', { todo: true }, () => {});
  describe('inner', () => {
    test('fails', () => { throw new Error('boom\\nsecond line'); });
    test('sleeps', async () => { await new Promise((r) => setTimeout(r, 120)); });
  });
});
test('top level', () => {});
`;

describe('test record reporter', () => {
  test('sourceFile maps dist/*.js back to the source a reader opens', () => {
    assert.equal(sourceFile('/repo/dist/test/unit/a.test.js', '/repo/'), 'test/unit/a.test.ts');
    assert.equal(sourceFile('/repo/scripts/x.mjs', '/repo/'), 'scripts/x.mjs');
    assert.equal(sourceFile(undefined, '/repo/'), '(no file)');
  });

  test('a cancelled subtest is told apart from a failed one', () => {
    const rec = createTestRecorder(() => 5);
    rec('test:start', { name: 'a', nesting: 0, file: '/x.js' });
    const r = rec('test:fail', { name: 'a', nesting: 0, file: '/x.js', details: { duration_ms: 2, error: { message: 'cancelled', failureType: 'cancelledByParent' } } }) as TestRecord;
    assert.equal(r.status, 'cancelled');
    assert.equal(r.error, undefined);
    assert.equal(r.endMs, 5);
  });

  test('a real node --test run: every test with its path, outcome and duration; TAP output unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-reporter-'));
    try {
      const file = join(dir, 'fixture.test.mjs');
      writeFileSync(file, FIXTURE);
      const out = join(dir, 'tests.ndjson');
      const both = spawnSync(process.execPath, ['--test', '--test-reporter', 'tap', '--test-reporter-destination', 'stdout', '--test-reporter', REPORTER, '--test-reporter-destination', out, file], { encoding: 'utf8', timeout: 30_000, env: ENV });
      const plain = spawnSync(process.execPath, ['--test', '--test-reporter', 'tap', file], { encoding: 'utf8', timeout: 30_000, env: ENV });
      assert.equal(both.status, 1, 'one test fails');
      const shape = (s: string): string => s.replace(/duration_ms:? [\d.]+/g, 'duration_ms N').replace(/\n\s+(at |\.\.\.).*/g, '');
      assert.equal(shape(both.stdout), shape(plain.stdout));

      const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TestRecord | SummaryRecord);
      const tests = records.filter((r): r is TestRecord => r.kind === 'test');
      const by = Object.fromEntries(tests.map((t) => [t.path.join(' > '), t]));
      const want: [string, TestRecord['status'], TestRecord['type']][] = [
        ['outer > passes', 'pass', 'test'], ['outer > skipped', 'skip', 'test'], ['outer > todo', 'todo', 'test'],
        ['outer > inner > fails', 'fail', 'test'], ['outer > inner > sleeps', 'pass', 'test'],
        ['outer > inner', 'fail', 'suite'], ['outer', 'fail', 'suite'], ['top level', 'pass', 'test'],
      ];
      assert.deepEqual(tests.map((t) => t.path.join(' > ')).sort(), want.map((w) => w[0]).sort());
      for (const [path, status, type] of want) {
        assert.equal(by[path]!.status, status, path);
        assert.equal(by[path]!.type, type, path);
      }
      assert.equal(by['outer > inner > fails']!.error, 'boom');
      assert.ok(by['outer > inner > sleeps']!.durationMs >= 100, String(by['outer > inner > sleeps']!.durationMs));
      assert.ok(by['outer']!.durationMs >= by['outer > inner > sleeps']!.durationMs);
      for (const t of tests) assert.match(t.file, /fixture\.test\.mjs$/);
      const summary = records.find((r): r is SummaryRecord => r.kind === 'summary');
      assert.deepEqual(summary?.counts, { tests: 6, suites: 2, pass: 3, fail: 1, cancelled: 0, skipped: 1, todo: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
