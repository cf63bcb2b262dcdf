// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCardinalityLimiter } from '../../../src/lib/cardinality-limiter.js';

describe('cardinality limiter', () => {
  test('admits up to maxSeries, keeps known series, counts refusals', () => {
    const l = createCardinalityLimiter({ maxSeries: 2 });
    assert.equal(l.admit('a'), true);
    assert.equal(l.admit('b'), true);
    assert.equal(l.admit('c'), false);
    assert.equal(l.admit('a'), true, 'a known series stays admitted at the cap');
    assert.equal(l.admit('d'), false);
    assert.deepEqual(l.stats(), { series: 2, overflowed: 2, expired: 0 });
  });

  test('idle series are forgotten, making room', () => {
    let now = 0;
    const l = createCardinalityLimiter({ maxSeries: 1, idleMs: 1000, now: () => now });
    assert.equal(l.admit('a'), true);
    now = 500;
    l.sweep();
    assert.equal(l.admit('b'), false);
    now = 1600;
    l.sweep();
    assert.equal(l.admit('b'), true);
    assert.equal(l.stats().expired, 1);
  });

  test('rejects bad options', () => {
    for (const maxSeries of [0, -1, 1.5, NaN]) {
      assert.throws(() => createCardinalityLimiter({ maxSeries }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    }
    assert.throws(() => createCardinalityLimiter({ maxSeries: 1, idleMs: 0 }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });
});
