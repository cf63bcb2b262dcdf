// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTable, fitCell } from '../../../src/cli/output/table.js';
import { formatJsonLine } from '../../../src/cli/output/json-lines.js';

describe('cli table', () => {
  test('aligns, pads and truncates', () => {
    const t = createTable({ columns: [{ header: 'PID', width: 5, align: 'right' }, { header: 'WHERE', width: 6, truncate: 'start' }, { header: 'ARGS', width: 0 }] });
    assert.equal(t.header(), '  PID  WHERE   ARGS');
    assert.equal(t.row([42, 'abcdefghij', 'ls -l']), '   42  …fghij  ls -l');
    assert.equal(t.row([1, undefined, '']), '    1');
  });
  test('fitCell', () => {
    assert.equal(fitCell('abcdef', 4), 'abc…');
    assert.equal(fitCell('a\nb', 3), 'a b');
    assert.equal(fitCell('x', 1), 'x');
    assert.equal(fitCell('xy', 1), '…');
  });
  test('rejects a bad width', () => {
    assert.throws(() => createTable({ columns: [{ header: 'A', width: -1 }] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });
  test('json lines print bigints', () => {
    assert.equal(formatJsonLine({ a: 1n, b: 'x' }), '{"a":1,"b":"x"}\n');
  });
});
