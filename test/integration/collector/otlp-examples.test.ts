// SPDX-License-Identifier: Apache-2.0
// Each official OTLP example is posted as JSON to one collector and its
// binary twin as protobuf to another; both must store identical data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { apiGet, mustStartCollector, TESTDATA, TESTDATA_SKIP, TOKEN } from './collector-fixture.js';
import { decodeExportRequest, type OtlpSignal } from '../../../src/lib/otlp/otlp-codec.js';

const OTLP = join(TESTDATA, 'otlp');
const EXAMPLES: [string, OtlpSignal][] = [['trace', 'traces'], ['logs', 'logs'], ['metrics', 'metrics'], ['events', 'logs']];

async function post(url: string, signal: OtlpSignal, body: Buffer, type: string, gzip = false): Promise<Response> {
  return fetch(`${url}/v1/${signal}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type, ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
    body: gzip ? gzipSync(body) : body,
  });
}

async function snapshot(c: { url: string }): Promise<unknown> {
  const spans = await apiGet<{ spans: { traceId: string }[] }>(c, '/api/spans?start=0&limit=1000');
  const traces = [];
  for (const id of [...new Set(spans.body.spans.map((s) => s.traceId))].sort()) traces.push((await apiGet(c, `/api/traces/${id}`)).body);
  return {
    traces,
    logs: (await apiGet(c, '/api/logs?limit=1000')).body,
    metrics: (await apiGet(c, '/api/metrics?limit=1000')).body,
    services: (await apiGet(c, '/api/services')).body,
  };
}

test('official examples: JSON and protobuf twins store identical data (plain and gzip)', { skip: TESTDATA_SKIP }, async (t) => {
  const viaJson = await mustStartCollector(t);
  const viaPb = await mustStartCollector(t);
  let expectedLogs = 0;
  let expectedMetrics = 0;
  for (const [name, signal] of EXAMPLES) {
    const json = readFileSync(join(OTLP, 'examples', `${name}.json`));
    const pb = readFileSync(join(OTLP, 'examples-binpb', `${name}.binpb`));
    const r1 = await post(viaJson.url, signal, json, 'application/json', name === 'logs');
    assert.equal(r1.status, 200, `${name} json: ${await r1.clone().text()}`);
    assert.equal(r1.headers.get('content-type'), 'application/json');
    assert.deepEqual(await r1.json(), {}, 'full success has no partialSuccess');
    const r2 = await post(viaPb.url, signal, pb, 'application/x-protobuf', name === 'metrics');
    assert.equal(r2.status, 200, name);
    assert.equal(r2.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await r2.arrayBuffer()).byteLength, 0);
    const req = decodeExportRequest(signal, pb, 'protobuf');
    if (signal === 'logs') for (const rl of req.resourceLogs as { scopeLogs: { logRecords: unknown[] }[] }[]) for (const sl of rl.scopeLogs) expectedLogs += sl.logRecords.length;
    if (signal === 'metrics') for (const rm of req.resourceMetrics as { scopeMetrics: { metrics: unknown[] }[] }[]) for (const sm of rm.scopeMetrics) expectedMetrics += sm.metrics.length;
  }
  const a = await snapshot(viaJson) as { traces: { spanCount: number }[]; logs: { records: unknown[] }; metrics: { records: unknown[] } };
  const b = await snapshot(viaPb);
  assert.deepEqual(a, b);
  assert.equal(a.traces.length, 1);
  assert.equal(a.traces[0]!.spanCount, 1);
  assert.equal(a.logs.records.length, expectedLogs);
  assert.equal(a.metrics.records.length, expectedMetrics);
  assert.ok(expectedLogs > 0 && expectedMetrics > 0);
  // The upper-case ids of trace.json are found by their lower-case form.
  const tr = await apiGet<{ roots: { spanId: string; parentSpanId: string }[] }>(viaJson, '/api/traces/5B8EFFF798038103D269B633813FC60C');
  assert.equal(tr.status, 200);
  assert.equal(tr.body.roots[0]!.spanId, 'eee19b7ec3c1b174');
});
