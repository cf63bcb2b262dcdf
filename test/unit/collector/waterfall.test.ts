// SPDX-License-Identifier: Apache-2.0
// The trace waterfall on deep and wide traces: names stay readable past depth 20, a 2,000-span
// trace folds to a screen, depth limits, errors-only and critical-path views keep the right spans,
// and newlines or terminal escapes in names and status messages cannot break the tree.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTraceTree } from '../../../src/collector/trace-tree.js';
import { escapeControl, renderWaterfall, type WaterfallOptions } from '../../../src/collector/waterfall.js';
import { waterfallRows } from '../../../src/collector/waterfall-rows.js';
import type { StoredSpan } from '../../../src/collector/span-store.js';

const TRACE = 'ab'.repeat(16);
const T0 = 1_700_000_000_000_000_000n;
const id = (n: number): string => n.toString(16).padStart(16, '0');

function span(n: number, parent: number | undefined, name: string, startMs: number, durMs: number, o: { error?: string; service?: string } = {}): StoredSpan {
  const start = T0 + BigInt(Math.round(startMs * 1000)) * 1000n;
  return {
    traceId: TRACE, spanId: id(n), ...(parent !== undefined ? { parentSpanId: id(parent) } : {}), name, kind: 2,
    startTimeUnixNano: start.toString(), endTimeUnixNano: (start + BigInt(Math.round(durMs * 1e6))).toString(), durationNs: Math.round(durMs * 1e6),
    service: o.service ?? 'svc', attributes: [], events: [], links: [],
    status: o.error !== undefined ? { code: 2, message: o.error } : { code: 0 }, resource: {}, scope: {},
  };
}

/** A chain of `depth` spans, each the child of the previous; the deepest fails. */
function deepTrace(depth: number): StoredSpan[] {
  return Array.from({ length: depth }, (_, i) => span(i + 1, i ? i : undefined, `op-${i + 1}-resolve-dependency`, i, 200 - i, i === depth - 1 ? { error: 'timeout' } : {}));
}

/** A root with 1,999 children: runs of `SELECT`, one `cache miss` in the middle, one failed SELECT. */
function wideTrace(): StoredSpan[] {
  const spans = [span(1, undefined, 'GET /report', 0, 1200)];
  for (let i = 2; i <= 2000; i++) spans.push(span(i, 1, i === 1500 ? 'cache miss' : 'SELECT', i * 0.5, 0.4, i === 700 ? { error: 'deadlock' } : {}));
  return spans;
}

const render = (spans: StoredSpan[], o: WaterfallOptions = {}): string[] => renderWaterfall(buildTraceTree(TRACE, spans), o).split('\n');
const spanLines = (lines: string[]): string[] => lines.filter((l) => /svc: /.test(l));

describe('waterfall', () => {
  for (const width of [80, 120, 200]) {
    test(`depth 40 at width ${width}: every name is shown whole, every line fits`, () => {
      const lines = render(deepTrace(40), { width });
      for (const l of lines.slice(1)) assert.ok(l.length <= width, `${l.length} > ${width}: ${l}`);
      // Whole names from the default width up; at 80 columns at least the distinguishing part.
      const name = (i: number): string => (width >= 120 ? `svc: op-${i}-resolve-dependency` : `svc: op-${i}-resolve`);
      for (let i = 1; i <= 40; i++) assert.ok(lines.some((l) => l.includes(name(i))), `op-${i} readable at width ${width}:\n${lines.join('\n')}`);
      const deepest = lines.find((l) => l.includes('op-40-'))!;
      assert.match(deepest, /^┆\d+ /, 'indentation compressed with a depth marker');
      assert.ok(lines.some((l) => /error: timeout/.test(l)));
    });
  }

  test('the depth marker counts the elided levels', () => {
    const rows = waterfallRows(buildTraceTree(TRACE, deepTrace(40)));
    assert.equal(rows.length, 40);
    const line = render(deepTrace(40)).find((l) => l.includes('op-40-'))!;
    const elided = Number(/^┆(\d+) /.exec(line)![1]);
    const kept = (/^┆\d+ ((?: {3}|│ {2})*)└─/.exec(line)![1]!.length) / 3;
    assert.equal(elided + kept, 38, 'elided plus drawn guides = ancestors below the root');
  });

  // Views of the 2,000-span trace: how many lines, and which spans must be visible.
  const views: { name: string; options: WaterfallOptions; maxLines: number; visible: RegExp[]; hidden?: RegExp[] }[] = [
    { name: 'no view: every span', options: {}, maxLines: 2003, visible: [/cache miss/, /SELECT \[server\] ✗/] },
    { name: 'fold 10', options: { fold: 10 }, maxLines: 15, visible: [/GET \/report/, /cache miss/, /SELECT \[server\] ✗/, /error: deadlock/, /⋯ ×\d+ more like SELECT/] },
    { name: 'fold 3: runs and the rest', options: { fold: 3 }, maxLines: 10, visible: [/⋯ ×\d+ more like SELECT/, /⋯ 1300 more children \(1300 spans\)/] },
    { name: 'errors only', options: { errorsOnly: true }, maxLines: 5, visible: [/GET \/report/, /SELECT \[server\] ✗/], hidden: [/cache miss/] },
    { name: 'depth 0', options: { depth: 0 }, maxLines: 4, visible: [/GET \/report/, /⋯ 1999 spans below, 1 error/], hidden: [/cache miss/] },
  ];
  for (const v of views) {
    test(`2,000-span wide trace, ${v.name}`, () => {
      const lines = render(wideTrace(), { width: 120, ...v.options });
      assert.ok(lines.length <= v.maxLines, `${lines.length} lines > ${v.maxLines}:\n${lines.slice(0, 30).join('\n')}`);
      for (const re of v.visible) assert.ok(lines.some((l) => re.test(l)), `${re} visible:\n${lines.slice(0, 30).join('\n')}`);
      for (const re of v.hidden ?? []) assert.ok(!lines.some((l) => re.test(l)), `${re} hidden`);
      for (const l of lines.slice(1)) assert.ok(l.length <= 120, l);
    });
  }

  test('folded lines account for every span exactly once', () => {
    for (const fold of [1, 2, 3, 10, 50]) {
      const rows = waterfallRows(buildTraceTree(TRACE, wideTrace()), { fold });
      const total = rows.reduce((n, r) => n + (r.type === 'span' ? 1 : r.spans), 0);
      assert.equal(total, 2000, `fold ${fold}`);
      assert.ok(rows.filter((r) => r.depth === 1).length <= fold + 1, `fold ${fold}: at most ${fold} child lines plus one for the rest`);
    }
  });

  test('fold keeps subtrees of a different shape apart and folds whole same-shape subtrees', () => {
    // root -> 5 x (GET -> SQL), then 1 x (GET -> SQL -> lock), then 3 x (GET -> SQL)
    const spans = [span(1, undefined, 'batch', 0, 100)];
    let n = 2;
    for (let i = 0; i < 9; i++) {
      const get = n++;
      spans.push(span(get, 1, 'GET', i * 10, 8));
      const sql = n++;
      spans.push(span(sql, get, 'SQL', i * 10 + 1, 5));
      if (i === 5) spans.push(span(n++, sql, 'lock', i * 10 + 2, 1));
    }
    const lines = spanLines(render(spans, { fold: 20 })).concat(render(spans, { fold: 20 }).filter((l) => l.includes('⋯')));
    const text = render(spans, { fold: 20 }).join('\n');
    assert.match(text, /⋯ ×4 more like GET \(2 spans each/);
    assert.match(text, /⋯ ×2 more like GET \(2 spans each/);
    assert.match(text, /svc: lock/);
    assert.ok(lines.length > 0);
  });

  test('critical path: the sequential chain the root waited for, not the parallel work that finished early', () => {
    // root 0-100: auth 0-10, then fetch 10-60 (inside it db 15-55 and a parallel cache 12-20), then render 60-100; log 5-30 in parallel.
    const spans = [
      span(1, undefined, 'root', 0, 100), span(2, 1, 'auth', 0, 10), span(3, 1, 'fetch', 10, 50), span(4, 3, 'db', 15, 40),
      span(5, 3, 'cache', 12, 8), span(6, 1, 'render', 60, 40), span(7, 1, 'log', 5, 25),
    ];
    const names = waterfallRows(buildTraceTree(TRACE, spans), { criticalPath: true }).flatMap((r) => (r.type === 'span' ? [r.node.name] : []));
    assert.deepEqual(names, ['root', 'auth', 'fetch', 'db', 'render'], 'cache ended before db started its wait: off the path; log overlapped fetch: off it');
    const both = waterfallRows(buildTraceTree(TRACE, [...spans, span(8, 5, 'miss', 13, 2, { error: 'missing' })]), { criticalPath: true, errorsOnly: true });
    assert.deepEqual(both.flatMap((r) => (r.type === 'span' ? [r.node.name] : [])), ['root', 'fetch'], 'the error is off the critical path; its ancestors on it remain');
  });

  const hostile: { name: string; text: string; escaped: string }[] = [
    { name: 'newline', text: 'line one\nline two', escaped: 'line one\\nline two' },
    { name: 'carriage return and tab', text: 'a\rb\tc', escaped: 'a\\rb\\tc' },
    { name: 'terminal escape', text: 'x\u001b[2J\u001b]0;title\u0007y', escaped: 'x\\x1b[2J\\x1b]0;title\\x07y' },
    { name: 'C1 control and line separator', text: 'p\u009bq\u2028r', escaped: 'p\\x9bq\\u2028r' },
  ];
  for (const h of hostile) {
    test(`escapes a ${h.name} in names and status messages`, () => {
      assert.equal(escapeControl(h.text), h.escaped);
      const lines = render([span(1, undefined, h.text, 0, 10, { error: h.text }), span(2, 1, 'child', 1, 2)], { width: 160 });
      assert.equal(lines.length, 5, lines.join('\n'));
      // eslint-disable-next-line no-control-regex
      for (const l of lines) assert.doesNotMatch(l, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      assert.ok(lines[2]!.includes(h.escaped));
      assert.ok(lines[3]!.includes(`error: ${h.escaped}`));
      assert.match(lines[4]!, /^└─ svc: child/);
    });
  }
});
