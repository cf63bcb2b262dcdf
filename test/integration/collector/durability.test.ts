// SPDX-License-Identifier: Apache-2.0
// Durability and overload. A collector process takes load at 10k spans/s
// over OTLP/HTTP, and again over OTLP/gRPC, and is killed with SIGKILL
// mid-stream; after a restart, every span that was acknowledged (2xx, gRPC
// OK) must be queryable (checked per span id). Under
// 3x overload the collector answers 429/503 and still loses nothing it
// acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { apiGet, mustStartCollector, mustTempDir, TOKEN } from './collector-fixture.js';
import { createRawGrpcClient } from './grpc-client.js';
import { buildTraceRequest, createRequestTemplate, postTraces, type LoadRequest } from '../../../bench/collector/load-generator.js';
import type { TraceTree, SpanNode } from '../../../src/collector/trace-tree.js';

const PROCESS = fileURLToPath(new URL('../../../src/collector/collector-process.js', import.meta.url));

async function spawnCollector(dataDir: string, extra: Record<string, unknown> = {}): Promise<{ child: ChildProcess; url: string; grpcUrl: string }> {
  const child = spawn(process.execPath, [PROCESS, JSON.stringify({ port: 0, dataDir, auth: { tokens: [TOKEN] }, ...extra })], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)));
  });
  const ready = JSON.parse(line) as { url: string; grpcUrl: string };
  return { child, url: ready.url, grpcUrl: ready.grpcUrl };
}

function spanIds(nodes: SpanNode[], out = new Set<string>()): Set<string> {
  for (const n of nodes) { out.add(n.spanId); spanIds(n.children, out); }
  return out;
}

/** Checks, per span id, that every acknowledged request's spans are stored. Returns the count checked. */
async function verifyAcked(url: string, acked: LoadRequest[]): Promise<number> {
  let checked = 0;
  for (const r of acked) {
    const stored = new Set<string>();
    for (const traceId of r.traceIds) {
      const res = await apiGet<TraceTree>({ url }, `/api/traces/${traceId}`);
      assert.equal(res.status, 200, `acknowledged trace ${traceId} missing`);
      spanIds(res.body.roots, stored);
    }
    for (const id of r.spanIds) {
      assert.ok(stored.has(id), `acknowledged span ${id} lost`);
      checked++;
    }
  }
  return checked;
}

for (const transport of ['http', 'grpc'] as const) {
test(`kill -9 at 10k spans/s over ${transport}: every acknowledged span survives the restart`, async (t) => {
  const dataDir = mustTempDir(t);
  const first = await spawnCollector(dataDir);
  t.after(() => { first.child.kill('SIGKILL'); });
  // 10 traces x 50 spans per request, one request every 50 ms = 10k spans/s.
  // The kill comes after at least 2 s and 10 acknowledged requests (a busy
  // machine acknowledges later), at most after 8 s.
  const requests = Array.from({ length: 160 }, () => buildTraceRequest(10, 50));
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  t.after(() => agent.destroy());
  const grpc = createRawGrpcClient(first.grpcUrl);
  t.after(() => grpc.close());
  if (transport === 'grpc') await grpc.ready();
  const send = (body: Uint8Array): Promise<{ ok: boolean; status: number }> => (transport === 'http'
    ? postTraces(first.url, body, { authorization: `Bearer ${TOKEN}` }, agent).then((res) => ({ ok: res.status >= 200 && res.status < 300, status: res.status }))
    : grpc.send('traces', body, { authorization: `Bearer ${TOKEN}` }, 10_000).then((res) => ({ ok: res.code === 0, status: res.code })));
  const acked: LoadRequest[] = [];
  const failed: number[] = [];
  let outstandingAtKill = -1;
  let killedAt = -1;
  let outstanding = 0;
  const pending: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < requests.length && (killedAt < 0 || i < killedAt + 20); i++) {
    const due = t0 + i * 50;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const r = requests[i]!;
    outstanding++;
    pending.push(send(r.body).then((res) => {
      outstanding--;
      if (res.ok) acked.push(r); else failed.push(res.status);
    }));
    if (killedAt < 0 && i >= 40 && acked.length >= 10) {
      // Kill while this request is on the wire or being committed.
      await new Promise((res) => setTimeout(res, 2));
      outstandingAtKill = outstanding;
      killedAt = i;
      first.child.kill('SIGKILL');
    }
  }
  await Promise.all(pending);
  await new Promise<void>((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r() : first.child.once('exit', () => r())));
  assert.ok(killedAt >= 0, `only ${acked.length} requests acknowledged in ${requests.length * 50} ms; never killed`);
  assert.equal(first.child.signalCode, 'SIGKILL');
  assert.ok(acked.length >= 10, `only ${acked.length} requests acknowledged before the kill`);
  assert.ok(failed.length >= 19, `requests after the kill must fail, got ${failed.length} failures`);
  assert.ok(outstandingAtKill >= 1, 'the kill must land mid-stream, with a request in flight');
  t.diagnostic(`acknowledged ${acked.length} requests (${acked.length * 500} spans), ${failed.length} failed, ${outstandingAtKill} in flight at the kill`);

  const second = await spawnCollector(dataDir);
  t.after(() => { second.child.kill('SIGKILL'); });
  const checked = await verifyAcked(second.url, acked);
  assert.equal(checked, acked.length * 500);
  second.child.kill('SIGTERM');
});
}

test('3x overload: 429/503 with Retry-After, and nothing acknowledged is lost', async (t) => {
  // Capacity set to 5k spans/s; offered 15k spans/s for 2 s.
  const c = await mustStartCollector(t, { load: { maxSpansPerSecond: 5000, retryAfterSeconds: 2 } });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  t.after(() => agent.destroy());
  const requests = Array.from({ length: 60 }, () => buildTraceRequest(5, 100));
  const acked: LoadRequest[] = [];
  const refused: { status: number; retryAfter?: string }[] = [];
  const pending: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < requests.length; i++) {
    const due = t0 + i * (1000 / 30);
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const r = requests[i]!;
    pending.push(postTraces(c.url, r.body, { authorization: `Bearer ${TOKEN}` }, agent).then((res) => {
      if (res.status === 200) acked.push(r); else refused.push(res);
    }));
  }
  await Promise.all(pending);
  assert.ok(refused.length >= 15, `expected many refusals at 3x, got ${refused.length}`);
  for (const r of refused) {
    assert.ok(r.status === 429 || r.status === 503, `status ${r.status}`);
    assert.equal(r.retryAfter, '2');
  }
  assert.ok(acked.length >= 8, `acknowledged ${acked.length}`);
  assert.equal(c.stats().rejected.rate_limited, refused.length);
  assert.equal(await verifyAcked(c.url, acked), acked.length * 500);

  // Without a rate cap, a full commit queue also pushes back with 429.
  const q = await mustStartCollector(t, { load: { maxQueuedSpans: 1500 } });
  const burst = Array.from({ length: 40 }, () => buildTraceRequest(10, 100));
  const results = await Promise.all(burst.map(async (r) => ({ r, res: await postTraces(q.url, r.body, { authorization: `Bearer ${TOKEN}` }, agent) })));
  const full = results.filter((x) => x.res.status === 429);
  assert.ok(full.length > 0, 'queue limit never answered 429');
  assert.equal(q.stats().rejected.queue_full, full.length);
  const ok = results.filter((x) => x.res.status === 200).map((x) => x.r);
  assert.equal(await verifyAcked(q.url, ok), ok.length * 1000);
});

test('real 3x overload, no rate cap: the commit queue pushes back with 429, stored = acknowledged', async (t) => {
  // 150k spans/s offered open-loop for 2 s, about 3x what one collector
  // process ingests here; the queue is kept small so it fills quickly.
  const dataDir = mustTempDir(t);
  const c = await spawnCollector(dataDir, { load: { maxQueuedSpans: 20_000 } });
  t.after(() => { c.child.kill('SIGKILL'); });
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  t.after(() => agent.destroy());
  const template = createRequestTemplate(20, 50);
  const statuses = new Map<number, number>();
  let acked = 0;
  const pending: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 300; i++) {
    const due = t0 + i * (1000 / 150);
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    pending.push(postTraces(c.url, template.body(i + 1), { authorization: `Bearer ${TOKEN}` }, agent).then((res) => {
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 200) acked++;
    }));
  }
  await Promise.all(pending);
  const refused = (statuses.get(429) ?? 0) + (statuses.get(503) ?? 0);
  t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(refused > 0, `no 429/503 under 3x overload: ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.equal(refused + acked, 300, `only 200, 429 and 503 expected: ${JSON.stringify(Object.fromEntries(statuses))}`);
  const stats = await apiGet<{ store: { spans: number }; rejected: Record<string, number> }>(c, '/api/stats');
  assert.equal(stats.body.store.spans, acked * 1000, 'every acknowledged span is stored, and no refused one');
  assert.equal((stats.body.rejected.queue_full ?? 0) + (stats.body.rejected.inflight_limit ?? 0) + (stats.body.rejected.memory_limit ?? 0), refused);
  c.child.kill('SIGTERM');
});
