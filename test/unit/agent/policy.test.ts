// SPDX-License-Identifier: Apache-2.0
// Policies: selectors, predicates with units, the engine, push-down planning and explain.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSelector, parseSelector } from '../../../src/agent/policy/selector.js';
import { evaluatePredicate, parsePredicate, parsePredicates } from '../../../src/agent/policy/predicate.js';
import { createPolicyEngine } from '../../../src/agent/policy/policy-engine.js';
import { formatPlan, planPushDown } from '../../../src/agent/policy/policy-planner.js';
import { POLICY_SET_SCHEMA } from '../../../src/agent/policy/policy.js';
import type { PolicySetSpec } from '../../../src/agent/policy/policy.js';
import type { AgentEvent } from '../../../src/agent/agent-event.js';

const subject = (labels: Record<string, string>, attributes: Record<string, string> = {}) => ({ labels, attributes });

function tcpEvent(latencyNs: number | undefined, labels: Record<string, string>, cgroupId = 1): AgentEvent {
  return {
    probe: 'tcp', name: 'tcp.connect', timeMs: 0, pid: 1, tgid: 1, comm: 'curl', cgroupId,
    fields: latencyNs === undefined ? {} : { 'tcp.connect.latency': latencyNs }, attributes: () => ({}), workload: subject(labels),
  };
}

function set(spec: unknown): PolicySetSpec {
  return POLICY_SET_SCHEMA.parse(spec);
}

describe('selectors', () => {
  const cases: { sel: string; labels: Record<string, string>; attrs?: Record<string, string>; want: boolean }[] = [
    { sel: 'app=payment,env=prod', labels: { app: 'payment', env: 'prod' }, want: true },
    { sel: 'app=payment,env=prod', labels: { app: 'payment', env: 'dev' }, want: false },
    { sel: 'app=payment', labels: {}, want: false },
    { sel: 'env in (prod,staging)', labels: { env: 'staging' }, want: true },
    { sel: 'env in (prod,staging)', labels: {}, want: false },
    { sel: 'env notin (prod,staging)', labels: {}, want: true },
    { sel: 'env notin (prod,staging)', labels: { env: 'prod' }, want: false },
    { sel: 'tier', labels: { tier: '' }, want: true },
    { sel: '!tier', labels: { tier: 'x' }, want: false },
    { sel: 'app!=payment', labels: { app: 'web' }, want: true },
    { sel: 'namespace=shop,comm=~"^java"', labels: {}, attrs: { namespace: 'shop', comm: 'java-17' }, want: true },
    { sel: 'namespace=shop,comm=~"^java"', labels: {}, attrs: { namespace: 'shop', comm: 'node' }, want: false },
    { sel: '', labels: {}, want: true },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.sel)} on ${JSON.stringify({ ...c.labels, ...c.attrs })} -> ${c.want}`, () => {
      assert.equal(matchesSelector(parseSelector(c.sel), subject(c.labels, c.attrs)), c.want);
    });
  }
  test('bad selectors are refused with the reason', () => {
    assert.throws(() => parseSelector('env in ()'), /needs a non-empty list/);
    assert.throws(() => parseSelector('env in (a'), /unbalanced/);
    assert.throws(() => parseSelector('app=pay ment'), /not a valid label value/);
    assert.throws(() => parseSelector('comm=~"(x"'), /invalid regular expression/);
    assert.throws(() => parseSelector('a,,b'), /empty term/);
  });
});

describe('predicates', () => {
  test('units normalise to nanoseconds and bytes', () => {
    assert.equal(parsePredicate('tcp.connect.latency > 100ms').value, 100_000_000);
    assert.equal(parsePredicate('tcp.connect.latency >= 1.5s').value, 1_500_000_000);
    assert.equal(parsePredicate('tcp.rtt > 250us').value, 250_000);
    assert.equal(parsePredicate('tcp.bytes.sent > 1MiB').value, 1 << 20);
    assert.equal(parsePredicate('process.exit.code != 0').value, 0);
    assert.equal(parsePredicate('tcp.retransmits > 0').op, '>');
  });
  test('evaluation; an absent field never matches', () => {
    const p = parsePredicate('tcp.connect.latency > 100ms');
    assert.equal(evaluatePredicate(p, 100_000_001), true);
    assert.equal(evaluatePredicate(p, 100_000_000), false);
    assert.equal(evaluatePredicate(p, undefined), false);
    assert.equal(evaluatePredicate(parsePredicate('process.exit.code != 0'), 1), true);
  });
  test('impossible, tautological and malformed predicates are refused', () => {
    assert.throws(() => parsePredicate('process.exit.code > 255'), /impossible threshold/);
    assert.throws(() => parsePredicate('tcp.connect.latency < 0ns'), /impossible threshold/);
    assert.throws(() => parsePredicate('tcp.connect.latency > 2h'), /impossible threshold/);
    assert.throws(() => parsePredicate('tcp.retransmits >= 0'), /always holds/);
    assert.throws(() => parsePredicate('tcp.connect.latency > 10 parsecs'), /not a number|unknown duration unit/);
    assert.throws(() => parsePredicate('tcp.retransmits > 1ms'), /plain number/);
    assert.throws(() => parsePredicate('latency'), /expected "<field> <op> <value>"/);
  });
  test('and / && / lists combine', () => {
    assert.equal(parsePredicates('tcp.connect.latency > 1ms and tcp.retransmits > 0').length, 2);
    assert.equal(parsePredicates(['tcp.connect.latency > 1ms', 'tcp.rtt > 1ms && tcp.retransmits > 0']).length, 3);
  });
});

describe('policy engine', () => {
  test('app=payment plus latency > 100ms keeps only the slow payment connections', () => {
    const e = createPolicyEngine(set({ default: 'drop', rules: [{ name: 'slow-payment', selector: 'app=payment', when: 'tcp.connect.latency > 100ms', action: 'keep' }] }));
    assert.deepEqual(e.decide(tcpEvent(150e6, { app: 'payment' })), { keep: true, rule: 'slow-payment' });
    assert.equal(e.decide(tcpEvent(5e6, { app: 'payment' })).keep, false);
    assert.equal(e.decide(tcpEvent(150e6, { app: 'web' })).reason, 'default_drop');
    assert.deepEqual(e.stats().rules['slow-payment'], { kept: 1, dropped: 0, rateLimited: 0 });
    assert.equal(e.stats().rules['(default)']!.dropped, 2);
  });
  test('first match decides; drop rules win when first', () => {
    const e = createPolicyEngine(set({ rules: [{ name: 'no-web', selector: 'app=web', action: 'drop' }, { name: 'all', action: 'keep' }] }));
    assert.equal(e.decide(tcpEvent(1, { app: 'web' })).reason, 'policy_drop');
    assert.equal(e.decide(tcpEvent(1, { app: 'db' })).rule, 'all');
  });
  test('rate limit: N/s per key with a token bucket', () => {
    let now = 0;
    const e = createPolicyEngine(set({ rules: [{ name: 'rl', action: 'keep', rateLimit: { perSecond: 2, burst: 2 } }] }), { now: () => now });
    const keptA = [0, 1, 2, 3].map(() => e.decide(tcpEvent(1, {}, 7)).keep);
    assert.deepEqual(keptA, [true, true, false, false]);
    assert.equal(e.decide(tcpEvent(1, {}, 8)).keep, true, 'another cgroup has its own bucket');
    now = 500; // half a second refills one token
    assert.equal(e.decide(tcpEvent(1, {}, 7)).keep, true);
    assert.equal(e.decide(tcpEvent(1, {}, 7)).reason, 'rate_limited');
  });
  test('probes are inferred from predicates', () => {
    const e = createPolicyEngine(set({ default: 'drop', rules: [{ name: 'bad-exit', when: 'process.exit.code != 0', action: 'keep' }] }));
    assert.deepEqual(e.rules[0]!.probes, ['process']);
    assert.equal(e.decide(tcpEvent(1, {})).keep, false);
  });
});

describe('push-down planner and explain', () => {
  test('latency threshold goes into the kernel, selector stays in user space', () => {
    const s = set({ default: 'drop', rules: [{ name: 'slow-payment', selector: 'app=payment', when: 'tcp.connect.latency > 100ms', action: 'keep' }] });
    const plan = planPushDown(s);
    assert.deepEqual(plan.tcp, { minHandshakeNs: 100_000_000, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: false, retransmits: false });
    const text = formatPlan(s, plan);
    assert.match(text, /tcp\.connect\.latency > 100ms\s+kernel\s+tcp_policy\.min_handshake_ns = 100000000/);
    assert.match(text, /selector app=payment\s+user space/);
    assert.match(text, /min_handshake_ns=100000000 .* flags=0/);
  });
  test('several keep rules: the loosest threshold, flags ORed', () => {
    const plan = planPushDown(set({ default: 'drop', rules: [
      { name: 'a', when: 'tcp.connect.latency > 100ms', action: 'keep' },
      { name: 'b', when: 'tcp.connect.latency >= 20ms', action: 'keep' },
      { name: 'c', when: 'tcp.retransmits > 0', action: 'keep' },
      { name: 'd', when: 'tcp.connect.failed == 1', action: 'keep' },
    ] }));
    assert.equal(plan.tcp.minHandshakeNs, 20_000_000);
    assert.equal(plan.tcp.retransmits, true);
    assert.equal(plan.tcp.failed, true);
    assert.equal(plan.tcp.stream, false);
  });
  test('default keep or an unpushable keep rule streams everything', () => {
    assert.equal(planPushDown(set({ rules: [] })).tcp.stream, true);
    const p = planPushDown(set({ default: 'drop', rules: [{ name: 'x', when: 'tcp.bytes.sent > 1MiB', action: 'keep' }] }));
    assert.equal(p.tcp.stream, true);
    assert.equal(p.tcp.minHandshakeNs, 0);
    assert.match(formatPlan(set({ default: 'drop', rules: [{ name: 'x', when: 'tcp.bytes.sent > 1MiB', action: 'keep' }] }), p), /tcp\.bytes\.sent > 1MiB\s+user space/);
  });
  test('a catch-all TCP drop rule acts as the TCP default (the embedded policy)', () => {
    const s = set({ default: 'keep', rules: [
      { name: 'failed', when: 'tcp.connect.failed == 1', action: 'keep' },
      { name: 'slow', when: 'tcp.connect.latency > 200ms', action: 'keep' },
      { name: 'rest', probes: ['tcp'], action: 'drop' },
      { name: 'unreachable', when: 'tcp.rtt > 1ms', action: 'keep' },
    ] });
    const p = planPushDown(s);
    assert.deepEqual(p.tcp, { minHandshakeNs: 200_000_000, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: true, retransmits: false });
    assert.match(formatPlan(s, p), /rule rest drops every remaining TCP record/);
  });
  test('process rules never touch the TCP kernel filter', () => {
    const p = planPushDown(set({ default: 'drop', rules: [{ name: 'e', when: 'process.exit.code != 0', action: 'keep' }] }));
    assert.deepEqual(p.tcp, { minHandshakeNs: 0, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: false, retransmits: false });
  });
});
