// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createBoundedOutput } from '../../../src/cli/output/bounded-output.js';
import { formatAgentLoss } from '../../../src/cli/agent-stream.js';

/** A stream whose reader never reads: every write stays in its buffer. */
function stuck(): Writable {
  return new Writable({ highWaterMark: 16, write: () => undefined });
}

describe('bounded output', () => {
  test('writes while the stream buffers at most the limit, then drops and counts rows', () => {
    const s = stuck();
    const out = createBoundedOutput(s, 100);
    const results: boolean[] = [];
    for (let i = 0; i < 10; i++) results.push(out.write('x'.repeat(40), 2));
    // 40, 80, 120 bytes buffered before the check fails: three writes pass, seven are dropped.
    assert.deepEqual(results, [true, true, true, false, false, false, false, false, false, false]);
    assert.equal(out.dropped(), 14);
    assert.equal(s.writableLength, 120);
  });

  test('a stream that keeps up loses nothing', () => {
    let bytes = 0;
    const s = new Writable({ write: (c: Buffer, _e, cb) => { bytes += c.length; cb(); } });
    const out = createBoundedOutput(s, 10);
    for (let i = 0; i < 100; i++) out.write('y'.repeat(50), 1);
    assert.equal(out.dropped(), 0);
    assert.equal(bytes, 5000);
  });

  for (const [name, dropped, want] of [
    ['no output count (trace tcp)', undefined, 'lost: 5 (agent stream, reader too slow: 2; agent tcp probe while attached: 3)\n'],
    ['stdout drops add to the total', 4, 'lost: 9 (agent stream, reader too slow: 2; stdout too slow: 4; agent tcp probe while attached: 3)\n'],
  ] as const) {
    test(`loss line: ${name}`, () => {
      assert.equal(formatAgentLoss('tcp', { first: { sent: 0, dropped: 0, probeLost: { tcp: 5 } }, last: { sent: 9, dropped: 2, probeLost: { tcp: 8 } } }, dropped), want);
    });
  }
});
