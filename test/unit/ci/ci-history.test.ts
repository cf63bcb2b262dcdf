// SPDX-License-Identifier: Apache-2.0
// The CI's run history file: outside the repository, damaged lines skipped and counted, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendHistory, defaultHistoryFile, MAX_RUNS, readHistory } from '../../../tools/ci/ci-history.js';

test('the default history file is in the user\'s cache, or MAXPRO_CI_HISTORY', () => {
  assert.equal(defaultHistoryFile({ MAXPRO_CI_HISTORY: '/x/h.ndjson' }), '/x/h.ndjson');
  assert.equal(defaultHistoryFile({ XDG_CACHE_HOME: '/c' }), '/c/maxpro/ci-history.ndjson');
});

test('append, read back oldest first, skip damaged lines, keep the last MAX_RUNS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-ci-history-'));
  try {
    const file = join(dir, 'sub', 'h.ndjson');
    assert.deepEqual(readHistory(file), { runs: [], badLines: 0 });
    for (let i = 0; i < MAX_RUNS + 7; i++) {
      appendHistory(file, { id: `r${i}`, startMs: 1000 + i, status: 0, figures: { 'step:x': { value: i, status: 'pass' } } });
      if (i === 3) appendFileSync(file, '{"truncated": \n');
    }
    const { runs, badLines } = readHistory(file);
    assert.equal(runs.length, MAX_RUNS);
    assert.equal(runs[0]!.id, 'r7');
    assert.equal(runs.at(-1)!.id, `r${MAX_RUNS + 6}`);
    assert.equal(badLines, 0, 'the damaged line was trimmed away with the oldest runs');
    appendFileSync(file, 'not json\n{"id": 1}\n');
    assert.equal(readHistory(file).badLines, 2);
    assert.ok(readFileSync(file, 'utf8').split('\n').length <= MAX_RUNS + 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
