// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import { COMMANDS } from '../../../src/cli/command-registry.js';

function io(): { out: PassThrough; err: PassThrough; text: () => string; errText: () => string; signal: AbortSignal } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => { o += String(d); });
  err.on('data', (d) => { e += String(d); });
  return { out, err, text: () => o, errText: () => e, signal: new AbortController().signal };
}

describe('cli dispatch', () => {
  test('lists commands and exits 2 without arguments', async () => {
    const x = io();
    assert.equal(await main([], x), 2);
    assert.match(x.text(), /USAGE: maxpro <command>/);
    assert.match(x.text(), /doctor/);
  });
  test('--help lists every command with its summary, in registry order, and exits 0', async () => {
    const x = io();
    assert.equal(await main(['--help'], x), 0);
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    const listed = x.text().split('\n').filter((l) => /^ {2}\S/.test(l));
    assert.deepEqual(listed, COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`));
    for (const alias of [['help'], ['-h']]) {
      const y = io();
      assert.equal(await main(alias, y), 0);
      assert.equal(y.text(), x.text());
    }
  });
  test('unknown commands are refused with the list', async () => {
    const x = io();
    assert.equal(await main(['frobnicate'], x), 2);
    assert.match(x.errText(), /unknown command 'frobnicate'/);
  });
  test('--help prints USAGE and EXAMPLES for a command', async () => {
    const x = io();
    assert.equal(await main(['doctor', '--help'], x), 0);
    assert.match(x.text(), /USAGE: maxpro doctor/);
    assert.match(x.text(), /EXAMPLES:/);
  });
  test('a bad flag is a clear error, exit 1', async () => {
    const x = io();
    assert.equal(await main(['doctor', '--nope'], x), 1);
    assert.match(x.errText(), /nope/);
  });
});
