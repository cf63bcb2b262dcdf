// SPDX-License-Identifier: Apache-2.0
// `maxpro record` following a real collector while the OpenTelemetry SDK sends traces, then
// `maxpro replay`: counts reproduced, every trace loaded into a second collector equal span by
// span, filters, a damaged block reported and skipped, and --diff naming an injected change.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandIO } from '../../../src/cli/command.js';
import { recordCommand } from '../../../src/cli/commands/record.js';
import { replayCommand } from '../../../src/cli/commands/replay.js';
import { createQueryClient } from '../../../src/collector/query-client.js';
import { readCaptureBlocks } from '../../../src/capture/capture-reader.js';
import { BLOCK_HEADER_SIZE } from '../../../src/capture/capture-format.js';
import type { CaptureDiff } from '../../../src/capture/capture-diff.js';
import { emitShopTraffic, spansPerTrace, type ShopWorkload } from '../../helpers/shop-workload.js';
import { mustStartCollector, mustTempDir, TOKEN } from '../collector/collector-fixture.js';

function io(signal = new AbortController().signal): CommandIO & { text: () => string; errText: () => string } {
  const out = new PassThrough(), err = new PassThrough();
  let o = '', e = '';
  out.on('data', (d: Buffer) => { o += d.toString(); });
  err.on('data', (d: Buffer) => { e += d.toString(); });
  return { out, err, signal, text: () => o, errText: () => e };
}

/** Records while the workload runs; resolves with the capture's recorder summary and the trace ids sent. */
async function record(t: TestContext, url: string, file: string, w: ShopWorkload): Promise<{ summary: Record<string, unknown>; ids: string[] }> {
  const stop = new AbortController();
  const rio = io(stop.signal);
  const saved = process.env.MAXPRO_COLLECTOR_TOKEN;
  process.env.MAXPRO_COLLECTOR_TOKEN = TOKEN;
  t.after(() => { if (saved === undefined) delete process.env.MAXPRO_COLLECTOR_TOKEN; else process.env.MAXPRO_COLLECTOR_TOKEN = saved; });
  const running = recordCommand.run(['-o', file, '--no-events', '--collector', url, '--json'], rio);
  await new Promise((r) => setTimeout(r, 300));
  const ids = await emitShopTraffic({ ...w, url, token: TOKEN });
  await new Promise((r) => setTimeout(r, 700));
  stop.abort();
  assert.equal(await running, 0, rio.errText());
  return { summary: JSON.parse(rio.text()) as Record<string, unknown>, ids };
}

async function replay(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = io();
  const code = await replayCommand.run(args, r);
  return { code, out: r.text(), err: r.errText() };
}

test('record and replay: counts, span-by-span equality through a second collector, filters, damage, diff', async (t) => {
  const a = await mustStartCollector(t);
  const b = await mustStartCollector(t);
  const dir = mustTempDir(t, 'maxpro-capture-');
  const before = join(dir, 'before.mxcap'), after = join(dir, 'after.mxcap');
  const base: ShopWorkload = { traces: 120, stepMs: 250, startMs: Date.now() - 60_000 };
  const r1 = await record(t, a.url, before, { ...base, dbMs: 5 });
  const expectedSpans = 120 * spansPerTrace(base);
  assert.equal(r1.summary.spans, expectedSpans, JSON.stringify(r1.summary));
  assert.equal(r1.summary.traces, 120);
  assert.deepEqual(r1.summary.drops, {});

  // Replay reproduces the recorded counts and loads every span into collector B.
  const rep = await replay([before, '--speed', 'max', '--view', 'none', '--json', '--into', b.url, '--token-file', writeToken(dir)]);
  assert.equal(rep.code, 0, rep.err);
  const s = JSON.parse(rep.out) as { spans: number; traces: number; services: string[]; into: { sent: number; rejected: number }; problems: unknown[]; recorded: { spans: number } };
  assert.equal(s.spans, expectedSpans);
  assert.equal(s.traces, 120);
  assert.equal(s.recorded.spans, expectedSpans);
  assert.deepEqual(s.services, ['shop']);
  assert.deepEqual(s.into, { sent: expectedSpans, rejected: 0 });
  assert.deepEqual(s.problems, []);
  const qa = createQueryClient({ url: a.url, token: TOKEN }), qb = createQueryClient({ url: b.url, token: TOKEN });
  for (const id of r1.ids) {
    const [ta, tb] = await Promise.all([qa.getTrace(id), qb.getTrace(id)]);
    assert.equal(ta.spanCount, 4);
    // Strict: ids, parents, names, kinds, times, attributes, events, links, status, resource, scope, flags.
    assert.deepEqual(tb, ta, `trace ${id}`);
  }

  // Lines, the table and waterfalls.
  const lines = await replay([before, '--speed', 'max', '--width', '200']);
  assert.equal(lines.out.split('\n').filter((l) => / {2}span {2}/.test(l)).length, expectedSpans);
  assert.match(lines.out, /✗ card declined\\nretry with another card/, 'status messages escaped on one line');
  const table = await replay([before, '--speed', 'max', '--view', 'table', '--slowest', '1', '--critical-path']);
  assert.match(table.out, /shop\s+SELECT carts\s+120\s+0/);
  assert.match(table.out, /shop\s+charge card\s+120\s+12/);
  assert.match(table.out, /Trace [0-9a-f]{32} {2}4 spans .*\(4 shown\)/, 'the slowest trace drawn; its spans run one after another, all on the critical path');
  assert.match(table.out, /└─ shop: charge card \[producer\]/);

  // Filters.
  const none = JSON.parse((await replay([before, '--speed', 'max', '--view', 'none', '--json', '--service', 'nobody'])).out) as { spans: number; filtered: number };
  assert.deepEqual([none.spans, none.filtered], [0, expectedSpans]);
  const pod = JSON.parse((await replay([before, '--speed', 'max', '--view', 'none', '--json', '--pod', 'shop-7d9f'])).out) as { spans: number };
  assert.equal(pod.spans, expectedSpans);
  const half = base.startMs! + 60 * 250;
  const window = JSON.parse((await replay([before, '--speed', 'max', '--view', 'none', '--json', '--since', new Date(half).toISOString()])).out) as { spans: number; traces: number };
  assert.equal(window.traces, 60, 'traces starting in the second half');

  // A damaged span block: reported with its offset, skipped, the rest still plays.
  const spanBlocks = [...readCaptureBlocks(before)].filter((x) => x.header.kind === 'spans');
  assert.ok(spanBlocks.length >= 1);
  const victim = spanBlocks[0]!;
  const bytes = readFileSync(before);
  bytes[victim.offset + BLOCK_HEADER_SIZE + 10]! ^= 0x55;
  const damaged = join(dir, 'damaged.mxcap');
  writeFileSync(damaged, bytes);
  const dmg = await replay([damaged, '--speed', 'max', '--view', 'none', '--json']);
  assert.match(dmg.err, new RegExp(`damaged block at offset ${victim.offset} skipped: spans block of ${victim.records.length} records: payload checksum mismatch`));
  assert.equal((JSON.parse(dmg.out) as { spans: number }).spans, expectedSpans - victim.records.length);

  // The injected change: the database got 12x slower and a cache lookup appeared.
  await record(t, a.url, after, { ...base, startMs: Date.now() - 30_000, dbMs: 60, cache: true });
  const diff = await replay(['--diff', before, after, '--json']);
  assert.equal(diff.code, 0, diff.err);
  const d = JSON.parse(diff.out) as CaptureDiff;
  assert.deepEqual(d.operations.added.map((o) => o.operation), ['cache lookup']);
  assert.deepEqual(d.operations.gone, []);
  assert.deepEqual(d.services, { added: [], gone: [], common: ['shop'] });
  const db = d.changed.find((c) => c.operation === 'SELECT carts');
  assert.ok(db, JSON.stringify(d.changed.map((c) => [c.operation, c.changes])));
  assert.ok(db.changes.includes('latency_up') && db.changes.includes('anomalous'), JSON.stringify(db.changes));
  assert.ok(db.after.p50Ms > 10 * db.before.p50Ms);
  // Each capture alone was judged too (a few dozen seconds of rows: whether that alerts is the detector's call).
  assert.ok(db.verdicts.before.rows >= 20 && db.verdicts.after.rows >= 20, JSON.stringify(db.verdicts));
  assert.ok(db.verdicts.afterAgainstBefore.alerts >= 1);
  assert.ok(!d.changed.some((c) => c.operation === 'charge card'), 'an unchanged operation is not reported');
  const text = (await replay(['--diff', before, after])).out;
  assert.match(text, /operations added: shop: cache lookup \(120\)/);
  assert.match(text, /shop: SELECT carts {2}\[latency_up, anomalous\]/);
  assert.match(text, /detector, after against before: \d+ alert\(s\)/);
});

function writeToken(dir: string): string {
  const f = join(dir, 'token');
  writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
  return f;
}
