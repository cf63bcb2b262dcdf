// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedSignals, redSeriesName, redValue } from '../../../src/anomaly/red-source.js';
import type { RedBucket, RedSignal } from '../../../src/anomaly/red-source.js';

const busy: RedBucket = { startNs: '1000000000', count: 4, rate: 4, errorRatio: 0.25, p50Ms: 10, p90Ms: 20, p99Ms: 30 };
const empty: RedBucket = { startNs: '2000000000', count: 0, rate: 0, errorRatio: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 };

describe('RED source', () => {
  const cases: { signal: RedSignal; busy: number; empty: number }[] = [
    { signal: 'rate', busy: 4, empty: 0 },
    { signal: 'error_ratio', busy: 0.25, empty: NaN },
    { signal: 'p50', busy: 10, empty: NaN },
    { signal: 'p90', busy: 20, empty: NaN },
    { signal: 'p99', busy: 30, empty: NaN },
  ];
  for (const c of cases) {
    test(`${c.signal}: a step without spans is ${Number.isNaN(c.empty) ? 'a gap' : c.empty}`, () => {
      assert.equal(redValue(busy, c.signal), c.busy);
      assert.deepEqual(redValue(empty, c.signal), c.empty);
    });
  }

  test('signal lists: parsed, and a bad one named', () => {
    assert.deepEqual(parseRedSignals('p99, error_ratio'), ['p99', 'error_ratio']);
    assert.throws(() => parseRedSignals('p95'), { code: 'MAXPRO_ERR_INVALID_ARGUMENT', message: /"p95"/ });
    assert.throws(() => parseRedSignals(' , '), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });

  test('series names carry service, operation and signal', () => {
    assert.equal(redSeriesName({ service: 'shop', operation: 'GET /', signal: 'p50' }), '{service="shop",operation="GET /",signal="p50"}');
  });
});
