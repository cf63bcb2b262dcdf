// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, createRedactorHandle, MAX_REDACTED_VALUE } from '../../../src/enrich/redaction.js';
import { checkRedactionPattern } from '../../../src/enrich/redaction-pattern.js';
import { ORDINARY, PLANTED } from '../../helpers/redaction-scenarios.js';

describe('redaction', () => {
  const r = createRedactor();
  describe('planted secrets are masked', () => {
    for (const c of PLANTED) {
      test(c.name, () => {
        const got = r.redactArgs(c.args);
        assert.deepEqual(got, c.want);
        assert.ok(!got.join(' ').includes(c.secret), got.join(' '));
      });
    }
  });
  describe('ordinary commands are unchanged', () => {
    for (const args of ORDINARY) test(args.join(' '), () => assert.deepEqual(r.redactArgs(args), args));
  });
  test('extra patterns keep group 1', () => {
    const x = createRedactor({ extraPatterns: ['(--pin=)\\d+'] });
    assert.deepEqual(x.redactArgs(['app', '--pin=1234', '--password=pw']), ['app', '--pin=***', '--password=***']);
  });
  test('refused patterns: syntax, lookaround, nested quantifiers, empty match', () => {
    for (const p of ['(', '(?=x)y', '(a)\\1', '(a+)+$', '(?:x*y)*', '([a-z]+=)+z', 'a*', '(x|)']) {
      assert.notEqual(checkRedactionPattern(p), undefined, p);
      assert.throws(() => createRedactor({ extraPatterns: [p] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' }, p);
    }
    for (const p of ['(--pin=)\\d+', 'hunter[0-9]+', '(X-Api-Key: )\\S+', '(?:foo|bar)baz', 'a{2,5}']) assert.equal(checkRedactionPattern(p), undefined, p);
  });
  test('unchanged input is returned as is', () => {
    const a = ['ls', '-l'];
    assert.equal(r.redactArgs(a), a);
  });
  test('a value over the budget is masked whole and counted', () => {
    const x = createRedactor();
    assert.deepEqual(x.redactArgs(['echo', 'a'.repeat(MAX_REDACTED_VALUE + 1)]), ['echo', '***']);
    assert.equal(x.stats().oversize, 1);
  });
  test('a handle swaps the rules for every holder; stats never go down', () => {
    const h = createRedactorHandle(createRedactor());
    const holder = { redactor: h };
    assert.deepEqual(holder.redactor.redactArgs(['x', 'plant42', '--password=a']), ['x', 'plant42', '--password=***']);
    h.replace(createRedactor({ extraPatterns: ['plant[0-9]+'] }));
    assert.deepEqual(holder.redactor.redactArgs(['x', 'plant42']), ['x', '***']);
    assert.equal(h.stats().redacted, 2);
  });
});
