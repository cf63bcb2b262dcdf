// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor } from '../../../src/enrich/redaction.js';

describe('redaction', () => {
  const r = createRedactor();
  const cases: { name: string; args: string[]; want: string[] }[] = [
    { name: '--password=', args: ['mysqld', '--password=hunter2'], want: ['mysqld', '--password=***'] },
    { name: '-p <pw>', args: ['mysql', '-u', 'root', '-p', 'hunter2'], want: ['mysql', '-u', 'root', '-p', '***'] },
    { name: '-p with a port or a path is kept', args: ['ssh', '-p', '2222', 'mkdir', '-p', '/tmp/x'], want: ['ssh', '-p', '2222', 'mkdir', '-p', '/tmp/x'] },
    { name: 'token= in a URL', args: ['curl', 'https://x/api?token=abc123&x=1'], want: ['curl', 'https://x/api?token=***&x=1'] },
    { name: 'secret= env assignment', args: ['env', 'DB_SECRET=swordfish', 'app'], want: ['env', 'DB_SECRET=***', 'app'] },
    { name: 'AWS access key id', args: ['aws', 'AKIAIOSFODNN7EXAMPLE'], want: ['aws', '***'] },
    { name: 'AWS secret key assignment', args: ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'], want: ['AWS_SECRET_ACCESS_KEY=***'] },
    { name: 'bearer token', args: ['curl', '-H', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc'], want: ['curl', '-H', 'Authorization: Bearer ***'] },
    { name: 'URL credentials', args: ['git', 'clone', 'https://user:pa55w0rd@example.com/r.git'], want: ['git', 'clone', 'https://user:***@example.com/r.git'] },
    { name: 'flag and value inside sh -c', args: ['sh', '-c', 'mysql -u root -p hunter2 db'], want: ['sh', '-c', 'mysql -u root -p *** db'] },
    { name: 'nothing to hide', args: ['/bin/true', 'a1', 'a2'], want: ['/bin/true', 'a1', 'a2'] },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(r.redactArgs(c.args), c.want));
  }
  test('configurable rules keep group 1', () => {
    const x = createRedactor({ patterns: ['(--pin=)\\d+'] });
    assert.deepEqual(x.redactArgs(['app', '--pin=1234', '--password=kept']), ['app', '--pin=***', '--password=kept']);
  });
  test('a bad pattern is refused', () => {
    assert.throws(() => createRedactor({ patterns: ['('] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });
  test('unchanged input is returned as is', () => {
    const a = ['ls', '-l'];
    assert.equal(r.redactArgs(a), a);
  });
});
