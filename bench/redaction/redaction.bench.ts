// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench -- redaction`: what redaction costs per exec. CPU ns per
 * argv for ordinary command lines and for command lines with secrets, with
 * the default rules and with one user pattern, against two peers in the same
 * run: a copy of the argv (the floor) and the regular-expression redactor
 * the scanners replaced (`regexp-redactor.ts`, backtracking). Then the
 * worst of the crafted 32 KiB argvs of the budget test, in ms, for the
 * default rules and for the peer (on a smaller input: the peer is
 * super-linear). Heap growth over the run says whether anything is kept.
 */
import { cpuUsage, memoryUsage } from 'node:process';
import { createRedactor } from '../../src/enrich/redaction.js';
import { ORDINARY, PLANTED } from '../../test/helpers/redaction-scenarios.js';
import { benchFlag, printFigures } from '../lib/bench-utils.js';
import { createRedactor as createRegexpRedactor } from './regexp-redactor.js';

const rounds = Number(benchFlag('rounds', '3000'));

/** CPU ns per argv of `fn` over `set`, best of 5 runs after a warm-up. */
function nsPerArgv(fn: (a: readonly string[]) => unknown, set: readonly (readonly string[])[]): number {
  for (let i = 0; i < rounds / 4; i++) for (const a of set) fn(a);
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t = cpuUsage();
    for (let i = 0; i < rounds; i++) for (const a of set) fn(a);
    const d = cpuUsage(t);
    best = Math.min(best, ((d.user + d.system) * 1000) / (rounds * set.length));
  }
  return Math.round(best);
}

/** CPU ms of `fn`, best of 5 runs after a warm-up. */
function ms(fn: () => unknown, runs = 5): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = cpuUsage();
    fn();
    const d = cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return Number(best.toFixed(2));
}

const planted = PLANTED.map((c) => c.args);
const heap0 = memoryUsage().heapUsed;
const defaults = createRedactor();
const withPattern = createRedactor({ extraPatterns: ['(--pin=)\\d+'] });
const peer = createRegexpRedactor();
const peerWithPattern = createRegexpRedactor({ extraPatterns: ['(--pin=)\\d+'] });
const copy = (a: readonly string[]): string[] => a.slice();

const figures: Record<string, number | string> = { bench: 'redaction' };
const rows: [string, (a: readonly string[]) => unknown][] = [
  ['copy', copy], ['defaults', (a) => defaults.redactArgs(a)], ['one_pattern', (a) => withPattern.redactArgs(a)], ['regexp_peer', (a) => peer.redactArgs(a)],
  ['regexp_peer_one_pattern', (a) => peerWithPattern.redactArgs(a)],
];
for (const [name, fn] of rows) {
  figures[`${name}_ns_per_ordinary_argv`] = nsPerArgv(fn, ORDINARY);
  figures[`${name}_ns_per_planted_argv`] = nsPerArgv(fn, planted);
}
const KIB32 = 32 * 1024;
const crafted = ['-auth', 'Cookie: a=', 'token="', 'a:'].map((u) => ['/bin/echo', u.repeat(KIB32 / u.length)]);
figures.defaults_worst_ms_32kib = Math.max(...crafted.map((a) => ms(() => defaults.redactArgs(a))));
figures.one_pattern_worst_ms_32kib = Math.max(...crafted.map((a) => ms(() => withPattern.redactArgs(a))));
// The peer's `auth` rule backtracks cubically: 2 KiB of `-auth` already costs what 32 KiB costs the scanners many times over.
figures.regexp_peer_ms_2kib_auth = ms(() => peer.redactArgs(['/bin/echo', '-auth'.repeat(400)]), 1);
figures.heap_growth_mib = Number(((memoryUsage().heapUsed - heap0) / 2 ** 20).toFixed(1));

for (const [k, v] of Object.entries(figures)) if (k !== 'bench') console.log(`${k.padEnd(36)} ${v}`);
printFigures(figures);
