// SPDX-License-Identifier: Apache-2.0
// Cgroup filter push-down: the planner's decision per rule set (allow / deny / off and why), the
// per-cgroup lists, the cap fallback, the update ordering of the kernel maps (never narrower than
// both the old and the new setting), and the sync on a directory tree standing in for cgroup2.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeCgroupFilter, resolveCgroupFilter } from '../../../src/agent/policy/cgroup-filter-plan.js';
import { createCgroupFilterSync } from '../../../src/agent/policy/cgroup-filter-sync.js';
import { compileRule } from '../../../src/agent/policy/policy-engine.js';
import { formatPlan, planPushDown } from '../../../src/agent/policy/policy-planner.js';
import { POLICY_SET_SCHEMA } from '../../../src/agent/policy/policy.js';
import type { PolicySetSpec } from '../../../src/agent/policy/policy.js';
import type { SelectorSubject } from '../../../src/agent/policy/selector.js';
import { pathSubject } from '../../../src/agent/workload-labeler.js';
import { CGROUP_FILTER_MAX_IDS, createCgroupFilter, probeBuiltWithCgroupFilter } from '../../../src/probes/cgroup-filter.js';
import type { CgroupFilter, CgroupFilterMode } from '../../../src/probes/cgroup-filter.js';
import { bpfObjectPath, openObjectFile } from '../../../src/ebpf/index.js';
import type { BpfMap, BpfObject } from '../../../src/ebpf/index.js';
import { readBtfStructs } from '../../helpers/btf.js';

function set(spec: unknown): PolicySetSpec {
  return POLICY_SET_SCHEMA.parse(spec);
}

const WORKLOADS: { cgroup: string; labels: Record<string, string>; namespace?: string }[] = [
  { cgroup: '/shop/payment', labels: { app: 'payment', env: 'prod' }, namespace: 'shop' },
  { cgroup: '/shop/web', labels: { app: 'web', env: 'prod' }, namespace: 'shop' },
  { cgroup: '/kube-system', labels: {}, namespace: 'kube-system' },
];
/** A small tree: id -> path. */
const TREE = new Map<number, string>([
  [1, '/'], [10, '/shop'], [11, '/shop/payment'], [12, '/shop/payment/c1'], [13, '/shop/web'], [14, '/shop/web/c1'],
  [20, '/kube-system'], [21, '/kube-system/dns'], [30, '/user.slice'],
]);
const SUBJECTS = new Map<number, SelectorSubject>([...TREE].map(([id, p]) => [id, pathSubject(p, WORKLOADS)]));

function decide(spec: unknown, probe: 'process' | 'tcp' = 'process', supported = true) {
  const s = set(spec);
  const a = analyzeCgroupFilter(s, s.rules.map((r) => compileRule(r)), probe, supported);
  const r = resolveCgroupFilter(a, SUBJECTS, 100);
  return { mode: a.mode, reason: a.reason, rules: a.rules, resolved: r.mode, ids: r.ids.sort((x, y) => x - y) };
}

describe('cgroup filter planner: rule sets -> kernel form', () => {
  const cases: { name: string; spec: unknown; probe?: 'process' | 'tcp'; supported?: boolean; mode: CgroupFilterMode; ids: number[]; reason: RegExp }[] = [
    {
      name: 'default drop, one label keep rule: allow list of its cgroups',
      spec: { default: 'drop', rules: [{ name: 'pay', selector: 'app=payment', action: 'keep' }] },
      mode: 'allow', ids: [11, 12], reason: /every process keep rule names cgroups.*pay/,
    },
    {
      name: 'keep rules with predicates still allow by cgroup (predicates re-checked in user space)',
      spec: { default: 'drop', rules: [
        { name: 'pay', selector: 'app=payment', when: 'process.exit.code != 0', action: 'keep' },
        { name: 'dns', selector: 'namespace=kube-system', action: 'keep', rateLimit: { perSecond: 1 } },
      ] },
      mode: 'allow', ids: [11, 12, 20, 21], reason: /pay, dns/,
    },
    {
      name: 'a comm term narrows nothing in the kernel, the cgroup part still does',
      spec: { default: 'drop', rules: [{ name: 'java', selector: 'namespace=shop,comm=java', action: 'keep' }] },
      mode: 'allow', ids: [11, 12, 13, 14], reason: /java/,
    },
    {
      name: 'an earlier unconditional drop removes cgroups from the allow list',
      spec: { default: 'drop', rules: [
        { name: 'no-web', selector: 'app=web', action: 'drop' },
        { name: 'shop', selector: 'namespace=shop', action: 'keep' },
      ] },
      mode: 'allow', ids: [11, 12], reason: /shop/,
    },
    {
      name: 'a keep rule without selector: every cgroup must pass',
      spec: { default: 'drop', rules: [
        { name: 'pay', selector: 'app=payment', action: 'keep' },
        { name: 'crashes', when: 'process.exit.code != 0', action: 'keep' },
      ] },
      mode: 'off', ids: [], reason: /keep rule crashes can match any cgroup/,
    },
    {
      name: 'a keep rule with only a comm selector: every cgroup must pass',
      spec: { default: 'drop', rules: [{ name: 'sh', selector: 'comm=sh', action: 'keep' }] },
      mode: 'off', ids: [], reason: /keep rule sh can match any cgroup/,
    },
    {
      name: 'default keep, selector-only drop rule: deny list',
      spec: { default: 'keep', rules: [{ name: 'quiet', selector: 'namespace=kube-system', action: 'drop' }] },
      mode: 'deny', ids: [20, 21], reason: /quiet/,
    },
    {
      name: 'deny list minus cgroups an earlier keep rule could keep',
      spec: { default: 'keep', rules: [
        { name: 'dns-errors', selector: 'cgroup=/kube-system/dns', when: 'process.exit.code != 0', action: 'keep' },
        { name: 'quiet', selector: 'namespace=kube-system', action: 'drop' },
      ] },
      mode: 'deny', ids: [20], reason: /quiet/,
    },
    {
      name: 'default drop, drop rule before a universal keep rule: deny list',
      spec: { default: 'drop', rules: [
        { name: 'quiet', selector: 'namespace=kube-system', action: 'drop' },
        { name: 'all', action: 'keep' },
      ] },
      mode: 'deny', ids: [20, 21], reason: /quiet/,
    },
    {
      name: 'a drop rule with a predicate is not a cgroup decision',
      spec: { default: 'keep', rules: [{ name: 'ok-exits', selector: 'namespace=kube-system', when: 'process.exit.code == 0', action: 'drop' }] },
      mode: 'off', ids: [], reason: /default keep and no drop rule/,
    },
    {
      name: 'a drop rule with a comm term is not a cgroup decision',
      spec: { default: 'keep', rules: [{ name: 'no-sh', selector: 'namespace=kube-system,comm=sh', action: 'drop' }] },
      mode: 'off', ids: [], reason: /default keep/,
    },
    {
      name: 'a drop rule after a universal keep rule is shadowed',
      spec: { default: 'keep', rules: [
        { name: 'crashes', when: 'process.exit.code != 0', action: 'keep' },
        { name: 'quiet', selector: 'namespace=kube-system', action: 'drop' },
      ] },
      mode: 'off', ids: [], reason: /keep rule crashes can match any cgroup/,
    },
    {
      name: 'a catch-all drop for the probe acts as its default; keep rules after it do not count',
      spec: { default: 'keep', rules: [
        { name: 'pay', selector: 'app=payment', action: 'keep' },
        { name: 'rest', probes: ['process'], action: 'drop' },
        { name: 'later', action: 'keep' },
      ] },
      mode: 'allow', ids: [11, 12], reason: /pay/,
    },
    {
      name: 'rules for another probe are ignored',
      spec: { default: 'drop', rules: [{ name: 'slow', selector: 'app=web', when: 'tcp.connect.latency > 1ms', action: 'keep' }] },
      mode: 'allow', ids: [], reason: /no rule keeps process records/,
    },
    {
      name: 'the same rules on TCP, which has no filter map: user space',
      spec: { default: 'drop', rules: [{ name: 'slow', selector: 'app=web', when: 'tcp.connect.latency > 1ms', action: 'keep' }] },
      probe: 'tcp', supported: false, mode: 'off', ids: [], reason: /the tcp probe has no cgroup filter map/,
    },
    {
      name: 'a keep rule with a negative term matches unlabelled cgroups: a deny list, never an allow list',
      spec: { default: 'drop', rules: [{ name: 'not-pay', selector: 'app!=payment', action: 'keep' }] },
      mode: 'deny', ids: [11, 12], reason: /not-pay.*without labels/,
    },
    {
      name: 'a negative term next to a positive one cannot match an unlabelled cgroup: allow list',
      spec: { default: 'drop', rules: [{ name: 'shop-not-pay', selector: 'namespace=shop,app!=payment', action: 'keep' }] },
      mode: 'allow', ids: [13, 14], reason: /shop-not-pay/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = decide(c.spec, c.probe, c.supported);
      assert.equal(d.mode, c.mode);
      assert.match(d.reason, c.reason);
      assert.deepEqual(d.ids, c.ids);
    });
  }

  test('the list is sound: no cgroup outside it has a record the engine could keep', () => {
    // Brute force over the table: every cgroup the kernel would filter is one whose records the
    // policy engine drops for any comm and any predicate value.
    for (const c of cases.filter((x) => x.mode !== 'off')) {
      const s = set(c.spec);
      const listed = new Set(decide(c.spec, c.probe).ids);
      for (const [id] of TREE) {
        const filtered = c.mode === 'allow' ? !listed.has(id) : listed.has(id);
        if (!filtered) continue;
        for (const comm of ['java', 'sh', 'x']) {
          for (const code of [0, 1]) {
            const r = s.rules.find((rule) => {
              const cr = compileRule(rule);
              if (!cr.probes.includes('process')) return false;
              const subj = { labels: SUBJECTS.get(id)!.labels, attributes: { ...SUBJECTS.get(id)!.attributes, comm } };
              const sel = cr.selector.terms.every((t) => {
                const v = t.key in subj.attributes ? (subj.attributes as Record<string, string>)[t.key] : subj.labels[t.key];
                switch (t.op) {
                  case 'eq': return v === t.values[0];
                  case 'neq': return v !== t.values[0];
                  default: return true;
                }
              });
              return sel && cr.predicates.every((p) => (p.op === '!=' ? code !== p.value : code === p.value));
            });
            const keep = r ? r.action === 'keep' : s.default === 'keep';
            assert.equal(keep, false, `${c.name}: cgroup ${TREE.get(id)} filtered but comm=${comm} code=${code} is kept by ${r?.name ?? 'default'}`);
          }
        }
      }
    }
  });

  test('more ids than the cap: off, and says why', () => {
    const s = set({ default: 'keep', rules: [{ name: 'quiet', selector: 'namespace=shop', action: 'drop' }] });
    const a = analyzeCgroupFilter(s, s.rules.map((r) => compileRule(r)), 'process');
    const r = resolveCgroupFilter(a, SUBJECTS, 3);
    assert.equal(r.mode, 'off');
    assert.equal(r.fallback, 'too_many_cgroups');
    assert.match(r.reason, /4 cgroups exceed the filter's 3/);
  });

  test('an incomplete walk turns an allow list off, a deny list stays', () => {
    const allow = set({ default: 'drop', rules: [{ name: 'pay', selector: 'app=payment', action: 'keep' }] });
    const deny = set({ default: 'keep', rules: [{ name: 'q', selector: 'app=payment', action: 'drop' }] });
    const ra = resolveCgroupFilter(analyzeCgroupFilter(allow, allow.rules.map((r) => compileRule(r)), 'process'), SUBJECTS, 100, false);
    assert.equal(ra.fallback, 'cgroup_scan_incomplete');
    const rd = resolveCgroupFilter(analyzeCgroupFilter(deny, deny.rules.map((r) => compileRule(r)), 'process'), SUBJECTS, 100, false);
    assert.equal(rd.mode, 'deny');
  });

  test('explain: per rule, kernel list with its count, or user space with the reason', () => {
    const s = set({ default: 'drop', rules: [
      { name: 'pay', selector: 'app=payment', action: 'keep' },
      { name: 'slow', selector: 'app=web', when: 'tcp.connect.latency > 100ms', action: 'keep' },
    ] });
    const compiled = s.rules.map((r) => compileRule(r));
    const resolved = [resolveCgroupFilter(analyzeCgroupFilter(s, compiled, 'process'), SUBJECTS, 100)];
    const plan = planPushDown(s, { cgroupFilter: { process: true, tcp: false } }, resolved);
    // Every registered probe has a line; the ones without the map are off.
    assert.deepEqual(plan.cgroupFilters.map((c) => [c.probe, c.mode]), [['process', 'allow'], ['tcp', 'off'], ['sysenter', 'off']]);
    const text = formatPlan(s, plan, resolved);
    assert.match(text, /selector app=payment \[process\]\s+kernel\s+cgroup allow list \(2 cgroups\)/);
    assert.match(text, /selector app=payment \[tcp\]\s+user space\s+the tcp probe has no cgroup filter map/);
    // slow applies to TCP only (its predicate names it).
    assert.match(text, /selector app=web\s+user space\s+the tcp probe has no cgroup filter map/);
    assert.match(text, /process cgroup filter: allow \(2 of 9 cgroups\)/);
    const over = [resolveCgroupFilter(analyzeCgroupFilter(s, compiled, 'process'), SUBJECTS, 1)];
    assert.match(formatPlan(s, planPushDown(s, { cgroupFilter: { process: true } }, over), over), /user space\s+cgroup allow list planned, but 2 cgroups exceed the filter's 1/);
    // The TCP source gets the same treatment once it exposes a filter.
    const withTcp = planPushDown(s, { cgroupFilter: { process: true, tcp: true } });
    assert.equal(withTcp.cgroupFilters.find((c) => c.probe === 'tcp')?.mode, 'allow');
    assert.match(formatPlan(s, withTcp), /selector app=web\s+kernel\s+cgroup allow list \(cgroup ids resolved at run time\)/);
  });
});

/** A map that records every operation, and a checker of the kernel's view after each one. */
function fakeObject(capacity: number, onOp: (op: string) => void): { object: BpfObject; view(): { mode: number; maxId: bigint; ids: Set<bigint> } } {
  let cfg = new Uint8Array(16);
  const ids = new Map<bigint, Uint8Array>();
  const key64 = (k: Uint8Array): bigint => new DataView(k.buffer, k.byteOffset).getBigUint64(0, true);
  const base = { type: 'hash', keySize: 8, valueSize: 1, valueBytes: 1, fd: -1, perCpu: false } as const;
  const stub = (): never => { throw new Error('unused'); };
  const map = (name: string, extra: Partial<BpfMap>): BpfMap => ({
    ...base, name, maxEntries: capacity, lookup: stub, update: stub, delete: stub, keys: stub, entries: stub, lookupBatch: stub, pin: stub, sumU64: () => 0n, ...extra,
  });
  const maps = new Map<string, BpfMap>([
    ['maxpro_cgf_mode', map('maxpro_cgf_mode', { update: (_k, v) => { cfg = v.slice(); onOp('cfg'); } })],
    ['maxpro_cgroup_filter', map('maxpro_cgroup_filter', {
      update: (k, v) => { if (!ids.has(key64(k)) && ids.size >= capacity) throw new Error('E2BIG'); ids.set(key64(k), v); onOp('add'); },
      delete: (k) => { const had = ids.delete(key64(k)); onOp('del'); return had; },
    })],
    ['maxpro_cgf_stat', map('maxpro_cgf_stat', { sumU64: (k) => BigInt(k[0]! + 5) })],
  ]);
  const object = { maps, map: (n: string) => maps.get(n)! } as unknown as BpfObject;
  const view = () => {
    const dv = new DataView(cfg.buffer);
    return { mode: dv.getUint32(0, true), maxId: dv.getBigUint64(8, true), ids: new Set(ids.keys()) };
  };
  return { object, view };
}

/** Would the kernel pass a record of cgroup `id` in this view? */
function passes(v: { mode: number; maxId: bigint; ids: Set<bigint> }, id: number): boolean {
  if (v.mode === 0) return true;
  const listed = v.ids.has(BigInt(id));
  return v.mode === 2 ? !listed : listed || BigInt(id) > v.maxId;
}

describe('CgroupFilter: map update ordering', () => {
  type Setting = { mode: CgroupFilterMode; ids: number[]; knownMaxId?: number };
  const transitions: [string, Setting, Setting, number?][] = [
    ['allow -> allow', { mode: 'allow', ids: [1, 2, 3], knownMaxId: 10 }, { mode: 'allow', ids: [3, 4, 5], knownMaxId: 12 }],
    ['deny -> deny', { mode: 'deny', ids: [1, 2, 3] }, { mode: 'deny', ids: [3, 4, 5] }],
    ['allow -> deny', { mode: 'allow', ids: [1, 2], knownMaxId: 10 }, { mode: 'deny', ids: [3, 4] }],
    ['deny -> allow', { mode: 'deny', ids: [1, 2] }, { mode: 'allow', ids: [3, 4], knownMaxId: 10 }],
    ['allow -> off', { mode: 'allow', ids: [1, 2], knownMaxId: 10 }, { mode: 'off', ids: [] }],
    ['allow -> allow that would overflow when merged', { mode: 'allow', ids: [1, 2, 3], knownMaxId: 10 }, { mode: 'allow', ids: [4, 5, 6], knownMaxId: 10 }, 4],
  ];
  for (const [name, from, to, capacity] of transitions) {
    test(`${name}: every intermediate state passes what old or new passes`, () => {
      let checking = false;
      const fake = fakeObject(capacity ?? 100, () => {
        if (!checking) return;
        const v = fake.view();
        for (let id = 1; id <= 14; id++) {
          const must = (s: Setting) => s.mode === 'off' || (s.mode === 'deny' ? !s.ids.includes(id) : s.ids.includes(id) || id > (s.knownMaxId ?? 0));
          if (must(from) && must(to)) assert.ok(passes(v, id), `${name}: cgroup ${id} filtered in an intermediate state ${JSON.stringify({ ...v, ids: [...v.ids].map(Number), maxId: Number(v.maxId) })}`);
        }
      });
      const f: CgroupFilter = createCgroupFilter({ object: fake.object });
      f.set(from);
      checking = true;
      f.set(to);
      const v = fake.view();
      for (let id = 1; id <= 14; id++) {
        const want = to.mode === 'off' || (to.mode === 'deny' ? !to.ids.includes(id) : to.ids.includes(id) || id > (to.knownMaxId ?? 0));
        assert.equal(passes(v, id), want, `final state, cgroup ${id}`);
      }
      assert.deepEqual(f.state(), { mode: to.mode, ids: to.mode === 'off' ? 0 : to.ids.length, knownMaxId: to.mode === 'allow' ? to.knownMaxId : 0 });
    });
  }
  test('refuses more ids than the map holds, and bad ids, changing nothing', () => {
    const fake = fakeObject(2, () => undefined);
    const f = createCgroupFilter({ object: fake.object });
    assert.throws(() => f.set({ mode: 'allow', ids: [1, 2, 3] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => f.set({ mode: 'deny', ids: [0] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.equal(f.state().mode, 'off');
    assert.deepEqual(f.filtered(), { cgroup_not_allowed: 5, cgroup_denied: 6 });
  });
});

describe('the header in the built process object', () => {
  test('maps and struct as src/probes/cgroup-filter.ts expects', () => {
    const spec = openObjectFile(bpfObjectPath('process'), 'process');
    try {
      const m = new Map(spec.maps.map((x) => [x.name, x]));
      assert.deepEqual([m.get('maxpro_cgroup_filter')?.type, m.get('maxpro_cgroup_filter')?.keySize, m.get('maxpro_cgroup_filter')?.valueSize, m.get('maxpro_cgroup_filter')?.maxEntries], ['hash', 8, 1, CGROUP_FILTER_MAX_IDS]);
      assert.deepEqual([m.get('maxpro_cgf_mode')?.valueSize, m.get('maxpro_cgf_mode')?.maxEntries], [16, 1]);
      assert.equal(m.get('maxpro_cgf_stat')?.maxEntries, 2);
    } finally {
      spec.close();
    }
    let st;
    try {
      st = readBtfStructs(bpfObjectPath('process')).get('maxpro_cgroup_filter_cfg');
    } catch {
      return; // no bpftool: the map sizes above still hold
    }
    assert.deepEqual(st?.members.map((x) => [x.name, x.offset]), [['mode', 0], ['pad', 4], ['known_max_id', 8]]);
  });
  test('explain finds the filter in built objects', () => {
    assert.equal(probeBuiltWithCgroupFilter('process'), true);
    assert.equal(probeBuiltWithCgroupFilter('no-such-probe'), false);
  });
});

describe('cgroup filter sync on a directory tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'maxpro-cgf-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('fills the list, keeps the watermark one walk behind, follows new cgroups and the cap', async () => {
    mkdirSync(join(root, 'shop/payment/c1'), { recursive: true });
    mkdirSync(join(root, 'other'));
    const fake = fakeObject(100, () => undefined);
    const filter = createCgroupFilter({ object: fake.object });
    const lines: string[] = [];
    const sync = createCgroupFilterSync({ root, subject: (p) => pathSubject(p, WORKLOADS), log: (l) => lines.push(l), minRescanMs: 0 });
    const s = set({ default: 'drop', rules: [{ name: 'pay', selector: 'app=payment', action: 'keep' }] });
    await sync.update(s, s.rules.map((r) => compileRule(r)), [{ probe: 'process', filter }]);
    const ino = (p: string) => statSync(join(root, p)).ino;
    assert.deepEqual([...fake.view().ids].map(Number).sort(), [ino('shop/payment'), ino('shop/payment/c1')].sort());
    assert.equal(fake.view().mode, 1);
    assert.ok(Number(fake.view().maxId) >= ino('shop/payment/c1'));
    assert.match(lines.join('\n'), /process cgroup filter: allow: cgroup allow list \(2 of 5 cgroups\)/);

    // A new matching cgroup: until the next walk it is above the watermark and passes; a record from
    // it asks for a rescan, which lists it.
    mkdirSync(join(root, 'shop/payment/c2'));
    const c2 = ino('shop/payment/c2');
    sync.seen(1); // known: no rescan
    assert.equal(fake.view().ids.has(BigInt(c2)), false);
    // (A directory tree's inodes need not grow as kernfs ids do: stand in with a larger id.)
    sync.seen(Number.MAX_SAFE_INTEGER);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(fake.view().ids.has(BigInt(c2)), 'listed after the rescan');
    const fams = sync.metrics();
    assert.deepEqual(fams.find((f) => f.name === 'maxpro_policy_kernel_filtered_events')?.samples, [
      { labels: { probe: 'process', reason: 'cgroup_not_allowed' }, value: 5 }, { labels: { probe: 'process', reason: 'cgroup_denied' }, value: 6 },
    ]);
    assert.deepEqual(fams.find((f) => f.name === 'maxpro_policy_cgroup_filter_cgroups')?.samples, [{ labels: { probe: 'process' }, value: 3 }]);

    // Over the cap: off, counted, logged.
    const capped = createCgroupFilterSync({ root, subject: (p) => pathSubject(p, WORKLOADS), log: (l) => lines.push(l), maxIds: 1 });
    await capped.update(s, s.rules.map((r) => compileRule(r)), [{ probe: 'process', filter }]);
    assert.equal(fake.view().mode, 0);
    assert.equal(capped.resolutions()[0]?.fallback, 'too_many_cgroups');
    assert.deepEqual(capped.metrics().find((f) => f.name === 'maxpro_policy_cgroup_filter_fallbacks')?.samples, [{ labels: { probe: 'process', reason: 'too_many_cgroups' }, value: 1 }]);
    sync.close();
    capped.close();
  });

  test('live-stream demand: the filter is off while subscribers want the probe, the policy\'s list comes back after', async () => {
    mkdirSync(join(root, 'live/payment'), { recursive: true });
    const workloads = [{ cgroup: '/live/payment', labels: { app: 'payment' } }];
    let checking = false;
    let restoring: Set<bigint> = new Set();
    // While the list comes back, every intermediate kernel state passes at least what the list passes.
    const fake = fakeObject(100, () => {
      if (!checking) return;
      for (const id of restoring) assert.ok(passes(fake.view(), Number(id)), `cgroup ${id} filtered while restoring`);
    });
    const filter = createCgroupFilter({ object: fake.object });
    const lines: string[] = [];
    const ran: string[] = [];
    const sync = createCgroupFilterSync({
      root, subject: (p) => pathSubject(p, workloads), log: (l) => lines.push(l),
      run: async (label, fn) => { ran.push(label); fn(); },
    });
    const s = set({ default: 'drop', rules: [{ name: 'pay', selector: 'app=payment', action: 'keep' }] });
    const compiled = s.rules.map((r) => compileRule(r));
    await sync.update(s, compiled, [{ probe: 'process', filter }]);
    const listed = new Set(fake.view().ids);
    assert.equal(fake.view().mode, 1);
    assert.ok(listed.size > 0);
    const gauge = (name: string, labels: Record<string, string>): number | undefined => {
      const x = sync.metrics().find((f) => f.name === name)?.samples.find((y) => Object.entries(labels).every(([k, v]) => y.labels[k] === v));
      return x && 'value' in x ? x.value : undefined;
    };
    assert.equal(gauge('maxpro_policy_cgroup_filter_suspended', { probe: 'process' }), 0);

    ran.length = 0;
    await sync.setLiveDemand(['process']);
    assert.deepEqual(ran, ['cgroup-filter'], 'through the serial runner');
    assert.equal(fake.view().mode, 0, 'off in the kernel');
    assert.equal(fake.view().ids.size, 0, 'and no ids left behind');
    assert.equal(sync.resolutions()[0]?.suspended, true);
    assert.equal(gauge('maxpro_policy_cgroup_filter_suspended', { probe: 'process' }), 1);
    assert.equal(gauge('maxpro_policy_cgroup_filter_mode', { probe: 'process', mode: 'off' }), 1);
    assert.match(lines.at(-1) ?? '', /^process: kernel cgroup filter off for live-stream subscribers \(the policy's allow list is suspended\)$/);
    // Explain for the running agent: the selector runs in user space for now, and says why.
    const plan = planPushDown(s, { cgroupFilter: { process: true } }, sync.resolutions());
    assert.match(JSON.stringify(plan.rules[0]?.parts), /user space.*cgroup allow list planned, but suspended while live-stream subscribers want every process record/);
    assert.match(formatPlan(s, plan, sync.resolutions()), /process cgroup filter: allow \(off for now: suspended while live-stream subscribers/);

    // The same set again (a second subscriber): nothing to write. A rescan keeps it off.
    ran.length = 0;
    await sync.setLiveDemand(['process']);
    await sync.refresh();
    assert.deepEqual(ran, ['cgroup-filter']);
    assert.equal(fake.view().mode, 0);
    // A reload while suspended keeps it suspended.
    await sync.update(s, compiled, [{ probe: 'process', filter }]);
    assert.equal(fake.view().mode, 0);
    assert.equal(lines.filter((l) => /off for live-stream/.test(l)).length, 1, 'logged once');

    // The last subscriber left: the list is back (fresh walk), through off -> ids -> allow.
    restoring = listed;
    checking = true;
    await sync.setLiveDemand([]);
    checking = false;
    assert.equal(fake.view().mode, 1);
    assert.deepEqual(fake.view().ids, listed);
    assert.equal(sync.resolutions()[0]?.suspended, undefined);
    assert.equal(gauge('maxpro_policy_cgroup_filter_suspended', { probe: 'process' }), 0);
    assert.match(lines.at(-1) ?? '', /^process: kernel cgroup filter back to the policy's setting: allow: cgroup allow list/);

    // A probe whose policy filter is off anyway is not reported as suspended.
    const keepAll = set({ default: 'keep', rules: [] });
    await sync.update(keepAll, [], [{ probe: 'process', filter }]);
    await sync.setLiveDemand(['process']);
    assert.equal(gauge('maxpro_policy_cgroup_filter_suspended', { probe: 'process' }), 0);
    assert.ok(!lines.at(-1)?.includes('live-stream'), lines.at(-1));
    sync.close();
  });

  test('a fallback is counted once, not again when a suspension ends', async () => {
    const fake = fakeObject(100, () => undefined);
    const filter = createCgroupFilter({ object: fake.object });
    const sync = createCgroupFilterSync({ root, subject: (p) => pathSubject(p, WORKLOADS), maxIds: 1 });
    const s = set({ default: 'drop', rules: [{ name: 'pay', selector: 'app=payment', action: 'keep' }] });
    await sync.update(s, s.rules.map((r) => compileRule(r)), [{ probe: 'process', filter }]);
    await sync.setLiveDemand(['process']);
    await sync.setLiveDemand([]);
    assert.equal(sync.resolutions()[0]?.fallback, 'too_many_cgroups');
    assert.deepEqual(sync.metrics().find((f) => f.name === 'maxpro_policy_cgroup_filter_fallbacks')?.samples, [{ labels: { probe: 'process', reason: 'too_many_cgroups' }, value: 1 }]);
    sync.close();
  });
});
