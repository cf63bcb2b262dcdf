// SPDX-License-Identifier: Apache-2.0
// The W3C trace-context cases from the shared test data: the elastic/apm
// valid/invalid labels (Level 1 rules) and the W3C harness cases, replayed
// against a propagating "service" built on the parsers (strict, Level 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatTraceparent, isValidSpanId, isValidTraceId, parseTraceparent, parseTraceparentOrThrow } from '../../../src/lib/trace-context/traceparent.js';
import { formatTracestate, parseTracestate, updateTracestate, type TracestateMember } from '../../../src/lib/trace-context/tracestate.js';
import { formatBaggage, parseBaggage, parseBaggageOrThrow } from '../../../src/lib/trace-context/baggage.js';
import { TraceContextError } from '../../../src/lib/trace-context/trace-context-error.js';
import { sharedTestdata } from '../../helpers/testdata.js';

const { dir: TESTDATA, skip } = sharedTestdata('tracecontext');

type Headers = [string, string][];
const valuesOf = (headers: Headers, name: string): string[] => headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);

test('elastic/apm: every traceparent and tracestate label holds', { skip }, () => {
  const cases = JSON.parse(readFileSync(join(TESTDATA, 'elastic-apm-spec/w3c_distributed_tracing.nocomments.json'), 'utf8')) as
    { headers: Headers; is_traceparent_valid: boolean; is_tracestate_valid?: boolean }[];
  assert.ok(cases.length >= 80, `expected the 82 cases, got ${cases.length}`);
  let checked = 0;
  for (const [i, c] of cases.entries()) {
    const tp = parseTraceparent(valuesOf(c.headers, 'traceparent'));
    assert.equal(tp.ok, c.is_traceparent_valid, `case ${i} traceparent ${JSON.stringify(c.headers)}: ${tp.ok ? 'accepted' : tp.error}`);
    checked++;
    if (c.is_tracestate_valid !== undefined) {
      const ts = parseTracestate(valuesOf(c.headers, 'tracestate'));
      assert.equal(ts.valid, c.is_tracestate_valid, `case ${i} tracestate ${JSON.stringify(c.headers).slice(0, 300)}: ${ts.error ?? 'valid'}`);
      checked++;
    }
  }
  assert.ok(checked > 100);
});

interface HarnessCase {
  test: string;
  requests: { headers: Headers; callbacks: number; assertions: string[]; per_callback?: string[] }[];
  vars?: Record<string, string>;
}

/** What a vendor service sends on: continue a valid trace, else start a new one. */
function propagate(headers: Headers): { traceId: string; parentId: string; flags: number; tracestate: readonly TracestateMember[] } {
  const tp = parseTraceparent(valuesOf(headers, 'traceparent'));
  const parentId = randomBytes(8).toString('hex');
  if (!tp.ok) return { traceId: randomBytes(16).toString('hex'), parentId, flags: 0, tracestate: [] };
  const ts = parseTracestate(valuesOf(headers, 'tracestate'), { level: 2, overflow: 'discard' });
  return { traceId: tp.value.traceId, parentId, flags: tp.value.traceFlags, tracestate: ts.members };
}

function lit(expr: string, vars: Record<string, string>): string {
  const m = /^'(.*)'$/s.exec(expr.trim());
  if (m) return m[1]!.replace(/\\\\/g, '\\');
  const v = vars[expr.trim()];
  if (v === undefined) throw new Error(`unknown harness variable ${expr}`);
  return v;
}

/** Evaluates one harness assertion; throws on a pattern it does not know, so none is skipped silently. */
function check(a: string, out: ReturnType<typeof propagate>, sets: { trace_ids: Set<string>; parent_ids: Set<string> }, vars: Record<string, string>, earlier: ReturnType<typeof propagate>[]): void {
  const ts = new Map(out.tracestate);
  const str = formatTracestate(out.tracestate, { level: 2 });
  let m: RegExpExecArray | null;
  if ((m = /^self\.assert(Not)?Equal\(traceparent\.(trace_id|parent_id)\.hex\(\), (.+)\)$/.exec(a))) {
    const actual = m[2] === 'trace_id' ? out.traceId : out.parentId;
    if (m[1]) assert.notEqual(actual, lit(m[3]!, vars), a); else assert.equal(actual, lit(m[3]!, vars), a);
  } else if ((m = /^self\.assertIn\((.+), tracestate\)$/.exec(a))) {
    assert.ok(ts.has(lit(m[1]!, vars)), `${a} in ${str}`);
  } else if ((m = /^self\.assertEqual\(tracestate\[(.+)\], (.+)\)$/.exec(a))) {
    assert.equal(ts.get(lit(m[1]!, vars)), lit(m[2]!, vars), a);
  } else if ((m = /^self\.assertRaises\(KeyError, lambda: tracestate\[(.+)\]\)$/.exec(a))) {
    assert.ok(!ts.has(lit(m[1]!, vars)), `${a}: got ${str}`);
  } else if ((m = /^self\.assertEqual\(len\(tracestate\), (\d+)\)$/.exec(a))) {
    assert.equal(ts.size, Number(m[1]), a);
  } else if ((m = /^self\.assertTrue\('([^']+)' in str\(tracestate\)( or '([^']+)' in str\(tracestate\))?\)$/.exec(a))) {
    assert.ok(str.includes(m[1]!) || (m[3] !== undefined && str.includes(m[3])), `${a}: ${str}`);
  } else if ((m = /^self\.assertTrue\(str\(tracestate\)\.index\('([^']+)'\) < str\(tracestate\)\.index\('([^']+)'\)\)$/.exec(a))) {
    assert.ok(str.indexOf(m[1]!) >= 0 && str.indexOf(m[1]!) < str.indexOf(m[2]!), `${a}: ${str}`);
  } else if ((m = /^self\.assertEqual\(len\(tracestate(\d)\), len\(tracestate(\d)\)\)$/.exec(a))) {
    // Compares what the service sent on for the case's Nth requests.
    assert.equal(earlier[Number(m[1]) - 1]!.tracestate.length, earlier[Number(m[2]) - 1]!.tracestate.length, a);
  } else if (a === "self.assertTrue(not tracestate or tracestate != '')") {
    assert.ok(out.tracestate.length === 0 || str !== '', a);
  } else if ((m = /^self\.assert_bit_set\(traceparent\.trace_flags, (\d+), .*\)$/.exec(a))) {
    assert.ok((out.flags & Number(m[1])) !== 0, a);
  } else if ((m = /^self\.assertEqual\(len\((trace_ids|parent_ids)\), (\d+)\)$/.exec(a))) {
    assert.equal(sets[m[1] as 'trace_ids'].size, Number(m[2]), a);
  } else if ((m = /^self\.assert(True|False)\('([0-9a-f]+)' in trace_ids\)$/.exec(a))) {
    assert.equal(sets.trace_ids.has(m[2]!), m[1] === 'True', a);
  } else {
    throw new Error(`harness assertion not understood: ${a}`);
  }
}

test('W3C harness: every request of every case behaves as the suite asserts (strict, Level 2)', { skip }, () => {
  const cases = JSON.parse(readFileSync(join(TESTDATA, 'harness_cases.json'), 'utf8')) as HarnessCase[];
  assert.ok(cases.length >= 40);
  let assertions = 0;
  for (const c of cases) {
    const earlier: ReturnType<typeof propagate>[] = [];
    for (const r of c.requests) {
      const sets = { trace_ids: new Set<string>(), parent_ids: new Set<string>() };
      let out = propagate(r.headers);
      for (let i = 0; i < Math.max(1, r.callbacks); i++) {
        out = propagate(r.headers);
        sets.trace_ids.add(out.traceId);
        sets.parent_ids.add(out.parentId);
        // Every traceparent the service emits must itself be valid.
        assert.ok(parseTraceparent(formatTraceparent({ traceId: out.traceId, parentId: out.parentId, traceFlags: out.flags })).ok);
      }
      earlier.push(out);
      // The suite reassigns `key` before each request; the data keeps only
      // the last value, so take it from the request's last tracestate header.
      const vars = { ...c.vars };
      const lastState = valuesOf(r.headers, 'tracestate').at(-1);
      if (vars.key !== undefined && lastState) vars.key = lastState.slice(0, lastState.indexOf('='));
      for (const a of r.assertions) {
        check(a, out, sets, vars, earlier);
        assertions++;
      }
    }
  }
  assert.ok(assertions > 100, `only ${assertions} assertions ran`);
});

test('traceparent: parse, format and errors name the field', () => {
  const tp = parseTraceparentOrThrow(' 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t');
  assert.deepEqual(tp, { version: 0, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', traceFlags: 1 });
  assert.equal(formatTraceparent(tp), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  const bad = parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01');
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /trace-id/);
  assert.throws(() => parseTraceparentOrThrow('00-00000000000000000000000000000000-00f067aa0ba902b7-01'),
    (e: unknown) => e instanceof TraceContextError && e.code === 'MAXPRO_ERR_TRACECONTEXT_INVALID' && /all zeros/.test(e.message));
  assert.throws(() => formatTraceparent({ traceId: 'x', parentId: '00f067aa0ba902b7', traceFlags: 1 }), TraceContextError);
  assert.equal(isValidTraceId('4bf92f3577b34da6a3ce929d0e0e4736'), true);
  assert.equal(isValidSpanId('0000000000000000'), false);
  // A future version keeps only its version-00 prefix.
  const future = parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra');
  assert.ok(future.ok && future.value.version === 1);
});

test('tracestate: 32-member cap, update moves to front, formatting validates', () => {
  const many = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).join(',');
  const r = parseTracestate(many);
  assert.equal(r.valid, true);
  assert.equal(r.truncated, true);
  assert.equal(r.members.length, 32);
  assert.equal(parseTracestate(many, { overflow: 'discard' }).valid, false);
  const up = updateTracestate([['a', '1'], ['b', '2']], 'b', '3');
  assert.deepEqual(up, [['b', '3'], ['a', '1']]);
  assert.equal(formatTracestate(up), 'b=3,a=1');
  assert.throws(() => formatTracestate([['A', '1']]), TraceContextError);
  assert.match(parseTracestate('foo=bar=baz').error ?? '', /member 1: invalid value/);
});

test('baggage: parse, percent-decoding, properties, limits and round trip', () => {
  const r = parseBaggageOrThrow(['userId=alice , serverNode = DF%2028;ttl=60', 'isProduction=false']);
  assert.deepEqual(r.map((e) => [e.key, e.value, e.properties]), [['userId', 'alice', []], ['serverNode', 'DF 28', ['ttl=60']], ['isProduction', 'false', []]]);
  const formatted = formatBaggage([{ key: 'k', value: 'a b,c;d%é', properties: [] }]);
  assert.equal(formatted, 'k=a%20b%2Cc%3Bd%25%C3%A9');
  assert.equal(parseBaggageOrThrow(formatted)[0]!.value, 'a b,c;d%é');
  assert.equal(parseBaggage('bad key=1').ok, false);
  assert.equal(parseBaggage('k=%zz').ok, false);
  assert.equal(parseBaggage('k=a"b').ok, false);
  const big = parseBaggage(Array.from({ length: 65 }, (_, i) => `k${i}=v`).join(','));
  assert.ok(!big.ok && /more than 64/.test(big.error));
  const long = parseBaggage(`k=${'x'.repeat(9000)}`);
  assert.ok(!long.ok && /bytes/.test(long.error));
  assert.throws(() => parseBaggageOrThrow('=1'), (e: unknown) => e instanceof TraceContextError && e.header === 'baggage');
});
