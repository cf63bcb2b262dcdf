// SPDX-License-Identifier: Apache-2.0
// Log-linear -> Prometheus cumulative buckets and OTLP exponential histograms.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HIST_MAX_RELATIVE_ERROR, createLogLinearHistogram, defaultBounds, exponentialIndex, recordValue, toExponentialHistogram, toPrometheusBuckets,
} from '../../../../src/lib/histogram/index.js';

describe('histogram conversion', () => {
  test('Prometheus buckets at the default bounds count exactly the values below each bound', () => {
    const h = createLogLinearHistogram();
    const values = [500, 1024, 1500, 2047, 2048, 70_000, 1e6, 3e9, 2 ** 45];
    for (const v of values) recordValue(h, v);
    const buckets = toPrometheusBuckets(h);
    assert.equal(buckets.length, defaultBounds().length + 1);
    for (const b of buckets) {
      // Buckets are [lower, upper): a value equal to a bound counts at the next bound.
      const expected = b.le === Infinity ? values.length : values.filter((v) => v < b.le).length;
      assert.equal(b.count, expected, `le ${b.le}`);
    }
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.count >= buckets[i - 1]!.count);
  });

  test('a bound inside a bucket never counts that bucket early', () => {
    const h = createLogLinearHistogram();
    recordValue(h, 1100); // bucket [1024, 1152)
    const [b] = toPrometheusBuckets(h, [1100, 5000]);
    assert.equal(b!.count, 0);
    assert.throws(() => toPrometheusBuckets(h, [5, 5]), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });

  test('exponentialIndex follows the OTel mapping: (base^i, base^(i+1)]', () => {
    assert.equal(exponentialIndex(1, 0), -1);
    assert.equal(exponentialIndex(2, 0), 0);
    assert.equal(exponentialIndex(3, 0), 1);
    assert.equal(exponentialIndex(4, 0), 1);
    assert.equal(exponentialIndex(1024, 3), 79);
    for (const scale of [0, 2, 3, 5]) {
      for (const v of [1.5, 1000, 123_456, 7.7e9]) {
        const i = exponentialIndex(v, scale);
        const base = 2 ** (2 ** -scale);
        assert.ok(base ** i < v * (1 + 1e-12) && v <= base ** (i + 1) * (1 + 1e-12), `scale ${scale} value ${v} index ${i}`);
      }
    }
  });

  test('the exponential histogram keeps count and sum, and its buckets hold the values', () => {
    const h = createLogLinearHistogram();
    const values = [2_000, 2_100, 50_000, 50_000, 1e6, 4e8];
    for (const v of values) recordValue(h, v);
    const e = toExponentialHistogram(h, 3);
    assert.equal(e.count, values.length);
    assert.equal(e.sum, values.reduce((a, b) => a + b, 0));
    assert.equal(e.positive.bucketCounts.reduce((a, b) => a + b, 0), values.length);
    assert.equal(e.zeroCount, 0);
    const base = 2 ** (1 / 8);
    // Each value lies within one exponential bucket plus the source bucket error of where it was counted.
    for (const v of values) {
      const idx = exponentialIndex(v, 3);
      const near = [idx - 1, idx, idx + 1].some((i) => (e.positive.bucketCounts[i - e.positive.offset] ?? 0) > 0);
      assert.ok(near, `value ${v} (index ${idx})`);
    }
    // The median from the exponential buckets is within source error plus one bucket width.
    let seen = 0;
    let mid = NaN;
    for (let i = 0; i < e.positive.bucketCounts.length; i++) {
      seen += e.positive.bucketCounts[i]!;
      if (seen >= 3) {
        mid = base ** (e.positive.offset + i + 0.5);
        break;
      }
    }
    assert.ok(Math.abs(mid - 50_000) / 50_000 <= HIST_MAX_RELATIVE_ERROR + (base - 1), `median ${mid}`);
    assert.deepEqual(toExponentialHistogram(createLogLinearHistogram()).positive, { offset: 0, bucketCounts: [] });
    assert.throws(() => toExponentialHistogram(h, 21), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });
});
