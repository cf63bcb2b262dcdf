// SPDX-License-Identifier: Apache-2.0
// Regex budget: the default rules and patterns `config check` accepts process 32 KiB of adversarial argv
// in under 10 ms of CPU time (best of 7 runs after 3 warm-ups; CPU time and the best run, so that other
// load on a shared machine does not decide the result: a super-linear rule costs seconds, not milliseconds).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor } from '../../../src/enrich/redaction.js';
import { checkRedactionPattern } from '../../../src/enrich/redaction-pattern.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';

const KIB32 = 32 * 1024;
const fill = (unit: string): string => unit.repeat(Math.ceil(KIB32 / unit.length)).slice(0, KIB32);
/** Each one 32 KiB: one long value, or 128 arguments of 256 bytes. */
const ADVERSARIAL: Record<string, string[]> = {
  'repeated -auth': ['/bin/echo', fill('-auth')],
  'a run': ['/bin/echo', fill('a')],
  'separators': ['/bin/echo', fill('=')],
  'key=': ['/bin/echo', fill('password=')],
  'colon chains': ['/bin/echo', fill('a:')],
  'URL starts': ['/bin/echo', fill('a://')],
  'URL userinfo': ['/bin/echo', `x://${fill('a:b@')}`],
  'JWT starts': ['/bin/echo', fill('eyJ')],
  'token starts': ['/bin/echo', fill('ghp_a')],
  'unclosed quotes': ['/bin/echo', fill('token="')],
  'cookie headers': ['/bin/echo', fill('Cookie: a=')],
  'bearer words': ['/bin/echo', fill('Bearer ')],
  'shell script': ['sh', '-c', fill("mysql -p x 'a\" ; ").slice(0, 8192)],
  'nested shells': ['sh', '-c', fill('sh -c ').slice(0, 8192)],
  'shell script over the parse budget': ['sh', '-c', fill("mysql -p x 'a\" ; ")],
  '32 shell scripts of 1 KiB': ['sh', '-c', fill('sh -c "mysql -px; ').slice(0, 1024), ...Array.from({ length: 31 }, () => fill('bash -c \'curl -u a:b ').slice(0, 1024))],
  'a (a+)+$ trap': ['/bin/echo', `${fill('a').slice(1)}!`],
  '128 args': ['/bin/echo', ...Array.from({ length: 128 }, (_, i) => fill(i % 2 ? '-auth' : 'a=b:').slice(0, 256))],
  'many -p': ['mysql', ...Array.from({ length: 2048 }, () => '-p12345678901')],
  'many secret flags': ['app', ...Array.from({ length: 2048 }, () => '--password')],
  'wrappers': ['sudo', ...Array.from({ length: 4096 }, () => 'env'), 'sshpass', '-p'],
  'ssh options': ['ssh', ...Array.from({ length: 2048 }, () => '-o'), 'host', 'mysql -px'],
  'quoting': ['bash', '-c', fill('"a\\"\'b\'\\c ').slice(0, 8192)],
  'semicolon-free cookie': ['curl', '-b', fill('a=')],
};

/** Patterns `config check` accepts (checked below), chosen to be worst cases for a backtracking engine. */
const ACCEPTED = [
  '(--pin=)\\d+', '[\\w.-]*(?:auth)[\\w.-]*\\s*[=:]\\s*\\S+', '(a)[a-z]*b', '\\w*=\\w*:\\w*@', 'x?a*a*a*a*a*b',
  '(?:a|aa|aaa)b', `(?:${Array.from({ length: 40 }, (_, i) => `w${i}`).join('|')})=\\S+`, '[^!]*!x', 'a{1,100}b{1,100}c',
];

function randomPattern(rnd: () => number): string {
  const atoms = ['a', '\\w', '\\S', '[a-z]', '.', '(?:a|b)', '(a)', '-', '='];
  const quants = ['', '*', '+', '?', '{1,5}'];
  let p = '';
  for (let i = 0, n = 1 + Math.floor(rnd() * 6); i < n; i++) p += atoms[Math.floor(rnd() * atoms.length)]! + quants[Math.floor(rnd() * quants.length)]!;
  return rnd() < 0.3 ? `(${p})+` : p;
}

/** Best of `runs` runs after 3 warm-ups, in ms of this process's CPU time. */
function bestOf(fn: () => void, runs = 7): number {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

describe('redaction budget', () => {
  test('the accepted patterns are accepted by config check', () => {
    const yaml = ['redaction:', '  extraPatterns:', ...ACCEPTED.map((p) => `    - ${JSON.stringify(p)}`)].join('\n');
    assert.deepEqual(parseConfigText(yaml, 'budget.yaml').config.redaction.extraPatterns, ACCEPTED);
  });

  const defaults = createRedactor();
  for (const [name, args] of Object.entries(ADVERSARIAL)) {
    test(`defaults: ${name} in under 10 ms`, () => {
      const ms = bestOf(() => defaults.redactArgs(args));
      assert.ok(ms < 10, `${ms.toFixed(2)} ms`);
    });
  }

  test('each accepted pattern, and random accepted ones, on every input in under 10 ms', { timeout: 600_000 }, () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const random = Array.from({ length: 200 }, () => randomPattern(rnd)).filter((p) => checkRedactionPattern(p) === undefined).slice(0, 10);
    assert.equal(random.length, 10);
    const slow: string[] = [];
    for (const p of [...ACCEPTED, ...random]) {
      const r = createRedactor({ extraPatterns: [p] });
      for (const [name, args] of Object.entries(ADVERSARIAL)) {
        const ms = bestOf(() => r.redactArgs(args), 5);
        if (ms >= 10) slow.push(`${p} on ${name}: ${ms.toFixed(2)} ms`);
      }
    }
    assert.deepEqual(slow, []);
  });
});
