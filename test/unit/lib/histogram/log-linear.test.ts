// SPDX-License-Identifier: Apache-2.0
// The log-linear scheme: in sync with the BPF header, exact boundaries, and
// quantiles within the stated relative error.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  HIST_BUCKETS, HIST_MAX_EXP, HIST_MAX_RELATIVE_ERROR, HIST_MIN_EXP, HIST_SUB_BITS,
  bucketIndex, bucketLower, bucketUpper, createLogLinearHistogram, quantile, recordValue, subtract,
} from '../../../../src/lib/histogram/index.js';
import { repoRoot } from '../../../../src/ebpf/index.js';

/** The BPF side's index function, transcribed with BigInt shifts as the C does it. */
function bpfBucket(v: bigint): number {
  if (v < 1n << BigInt(HIST_MIN_EXP)) return 0;
  if (v >= 1n << BigInt(HIST_MAX_EXP)) return HIST_BUCKETS - 1;
  const e = v.toString(2).length - 1;
  const s = Number((v >> BigInt(e - HIST_SUB_BITS)) & 7n);
  return 1 + (e - HIST_MIN_EXP) * 8 + s;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('log-linear histogram', () => {
  test('the constants match bpf/include/maxpro/histogram.h', () => {
    const h = readFileSync(`${repoRoot()}/bpf/include/maxpro/histogram.h`, 'utf8');
    const def = (n: string): number => Number(new RegExp(`#define ${n} (\\d+)`).exec(h)?.[1]);
    assert.equal(def('MAXPRO_HIST_SUB_BITS'), HIST_SUB_BITS);
    assert.equal(def('MAXPRO_HIST_MIN_EXP'), HIST_MIN_EXP);
    assert.equal(def('MAXPRO_HIST_MAX_EXP'), HIST_MAX_EXP);
    assert.equal(HIST_BUCKETS, 274);
  });

  test('bucketIndex agrees with the BPF computation at and around every boundary', () => {
    for (let i = 1; i < HIST_BUCKETS; i++) {
      const lo = bucketLower(i);
      for (const v of [lo - 1, lo, lo + 1]) assert.equal(bucketIndex(v), bpfBucket(BigInt(v)), `value ${v}`);
      assert.equal(bucketIndex(lo), i);
      assert.equal(bucketIndex(lo - 1), i - 1);
    }
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(1023), 0);
    assert.equal(bucketIndex(1024), 1);
    assert.equal(bucketIndex(2 ** 50), HIST_BUCKETS - 1);
    assert.equal(bucketUpper(HIST_BUCKETS - 1), Infinity);
  });

  test('each finite bucket is at most 12.5% wide relative to its lower bound', () => {
    for (let i = 1; i < HIST_BUCKETS - 1; i++) {
      const w = (bucketUpper(i) - bucketLower(i)) / bucketLower(i);
      assert.ok(w <= 1 / 8 + 1e-12, `bucket ${i} width ${w}`);
    }
  });

  for (const [name, gen] of [
    ['log-normal latencies', (r: () => number): number => Math.exp(11 + 2.5 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r()))],
    ['uniform 1us..1s', (r: () => number): number => 1e3 + r() * 1e9],
    ['bimodal', (r: () => number): number => (r() < 0.9 ? 20_000 + r() * 5_000 : 1e9 + r() * 1e8)],
  ] as const) {
    test(`p50/p90/p99 within ${HIST_MAX_RELATIVE_ERROR * 100}% of the exact quantile: ${name}`, () => {
      const r = rng(42);
      const values: number[] = [];
      const h = createLogLinearHistogram();
      for (let i = 0; i < 20_000; i++) {
        const v = Math.min(Math.max(Math.round(gen(r)), 1024), 2 ** 43);
        values.push(v);
        recordValue(h, v);
      }
      values.sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.99, 0.999]) {
        const exact = values[Math.max(0, Math.ceil(q * values.length) - 1)]!;
        const est = quantile(h, q);
        assert.ok(Math.abs(est - exact) / exact <= HIST_MAX_RELATIVE_ERROR, `q${q}: estimate ${est}, exact ${exact}`);
      }
    });
  }

  test('quantile edge cases', () => {
    const h = createLogLinearHistogram();
    assert.ok(Number.isNaN(quantile(h, 0.5)));
    recordValue(h, 5000);
    assert.equal(quantile(h, 0), quantile(h, 1));
    assert.throws(() => quantile(h, 1.5), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => recordValue(h, -1), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    const h2 = createLogLinearHistogram();
    recordValue(h2, 5000);
    recordValue(h2, 9000);
    const d = subtract(h2, h);
    assert.equal(d.count, 1);
    assert.equal(d.sum, 9000);
  });
});
