// SPDX-License-Identifier: Apache-2.0
// Attribute limits in characters (code points), truncation as the SDKs do it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { codePointLength, limitAttributes, truncateCodePoints, type AttributeLimits } from '../../../src/collector/attribute-limits.js';
import type { KeyValue } from '../../../src/collector/span-model.js';

const LIM: AttributeLimits = { maxAttributes: 3, maxAttributeKeyLength: 4, maxAttributeValueLength: 3, maxAttributeDepth: 1, overLimit: 'truncate' };

describe('code points', () => {
  const cases: { s: string; n: number; cut3: string }[] = [
    { s: '', n: 0, cut3: '' },
    { s: 'abcd', n: 4, cut3: 'abc' },
    { s: 'héllo', n: 5, cut3: 'hél' },
    { s: '😀😀😀😀', n: 4, cut3: '😀😀😀' },
    { s: 'a😀b', n: 3, cut3: 'a😀b' },
    { s: '\ud800x', n: 2, cut3: '\ud800x' }, // a lone surrogate is one character
  ];
  for (const c of cases) {
    test(JSON.stringify(c.s), () => {
      assert.equal(codePointLength(c.s), c.n);
      assert.equal(truncateCodePoints(c.s, 3), c.cut3);
      assert.equal(codePointLength(c.s, 3) > 3, c.n > 3);
    });
  }
});

describe('limitAttributes', () => {
  const kv = (key: string, v: KeyValue['value']): KeyValue => ({ key, value: v });
  test('within the limits: the same array, nothing dropped', () => {
    const a = [kv('a', { stringValue: 'xyz' }), kv('b', { intValue: '1' })];
    const r = limitAttributes(a, LIM, 'span');
    assert.equal(r.attributes, a);
    assert.equal(r.dropped, 0);
  });
  test('cut, dropped by key, by depth, by count', () => {
    const a = [
      kv('s', { stringValue: '😀😀😀😀' }),
      kv('toolong', { stringValue: 'x' }),
      kv('arr', { arrayValue: { values: [{ stringValue: 'abcdef' }] } }),
      kv('deep', { arrayValue: { values: [{ arrayValue: { values: [] } }] } }),
      kv('n', { boolValue: true }),
      kv('over', { boolValue: true }),
    ];
    const r = limitAttributes(a, LIM, 'span');
    assert.deepEqual(r.attributes, [kv('s', { stringValue: '😀😀😀' }), kv('arr', { arrayValue: { values: [{ stringValue: 'abc' }] } })]);
    // The first 3 are kept or cut (toolong dropped by its key); deep, n and over are past the count.
    assert.equal(r.dropped, 1 + 3);
    const deepOnly = limitAttributes([kv('deep', { arrayValue: { values: [{ arrayValue: { values: [] } }] } })], LIM, 'span');
    assert.deepEqual(deepOnly, { attributes: [], dropped: 1 }, 'nested past the depth: the whole attribute');
    assert.equal(a[0]!.value!.stringValue, '😀😀😀😀', 'the input is not changed');
  });
  test('refuse mode throws for the first limit broken', () => {
    assert.throws(() => limitAttributes([kv('s', { stringValue: 'abcd' })], { ...LIM, overLimit: 'refuse' }, 'span'), (e: { reason: string }) => e.reason === 'attribute_too_long');
    assert.doesNotThrow(() => limitAttributes([kv('s', { stringValue: '😀😀😀' })], { ...LIM, overLimit: 'refuse' }, 'span'));
  });
});
