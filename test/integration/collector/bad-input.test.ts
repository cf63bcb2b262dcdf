// SPDX-License-Identifier: Apache-2.0
// Abuse and malformed input against a real collector: each is answered with
// the right status, counted by reason, and neither crashes the collector
// nor grows its memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mustStartCollector, TESTDATA, TESTDATA_SKIP, TOKEN } from './collector-fixture.js';
import { decodeExportResponse } from '../../../src/lib/otlp/otlp-codec.js';
import { otlpType } from '../../../src/lib/otlp/otlp-schema.js';

const AUTH = { authorization: `Bearer ${TOKEN}` };
const PB = TESTDATA_SKIP ? Buffer.alloc(0) : readFileSync(join(TESTDATA, 'otlp/examples-binpb/trace.binpb'));

/** Raw POST with node:http (fetch hides some behaviours); resolves with status, headers and body. */
function post(url: string, path: string, headers: Record<string, string | number>, body: Buffer | AsyncIterable<Buffer>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else void (async () => { for await (const c of body) if (!req.write(c)) await new Promise((r) => req.once('drain', r)); req.end(); })();
  });
}

/** A gzip stream of `total` zero bytes, produced without holding it in memory. */
async function gzipBomb(total: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let n = 0; n < total; n += zeros.length) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  await new Promise<void>((r) => gz.end(r));
  return Buffer.concat(out);
}

const spanJson = (over: Record<string, unknown>): Record<string, unknown> => ({
  traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'ok', startTimeUnixNano: '1', endTimeUnixNano: '2', ...over,
});
const traceBody = (spans: Record<string, unknown>[]): Buffer => Buffer.from(JSON.stringify({
  resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bad-input' } }] }, scopeSpans: [{ spans }] }],
}));

test('bad input: status, reason counter, no crash, bounded memory', { skip: TESTDATA_SKIP }, async (t) => {
  const c = await mustStartCollector(t, { limits: { maxBodyBytes: 2 * 1024 * 1024, maxDecompressedBytes: 16 * 1024 * 1024, overLimit: 'refuse' } });
  const rejected = (): Record<string, number> => c.stats().rejected;

  await t.test('truncated protobuf: 400 with a Status body naming the problem', async () => {
    const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/x-protobuf' }, PB.subarray(0, PB.length - 9));
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'application/x-protobuf');
    assert.match(r.body.toString('latin1'), /invalid protobuf/);
    assert.equal(rejected().malformed, 1);
  });

  await t.test('wrong content type: 415', async () => {
    const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'text/plain' }, Buffer.from('hello'));
    assert.equal(r.status, 415);
    assert.match(r.body.toString(), /content type 'text\/plain' not supported/);
    const r2 = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json', 'content-encoding': 'br' }, Buffer.from('{}'));
    assert.equal(r2.status, 415);
    assert.equal(rejected().unsupported_media_type, 1);
    assert.equal(rejected().unsupported_encoding, 1);
  });

  await t.test('gzip bomb (1 GiB from about 1 MB): 413 after the inflate limit, memory stays bounded', async () => {
    const bomb = await gzipBomb(1024 * 1024 * 1024);
    assert.ok(bomb.length < 1.5 * 1024 * 1024, `bomb is ${bomb.length} bytes`);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 3; i++) {
      const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, bomb);
      assert.equal(r.status, 413);
      assert.match(r.body.toString('latin1'), /inflated request body exceeds the 16777216-byte limit/);
    }
    const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
    assert.ok(grown < 200, `RSS grew ${grown.toFixed(0)} MiB`);
    assert.equal(rejected().decompressed_too_large, 3);
  });

  await t.test('body over the limit: 413 by Content-Length and by streamed size', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024 + 10, 0x20);
    const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' }, big);
    assert.equal(r.status, 413);
    assert.match(r.body.toString(), /content-length 2097162 exceeds the 2097152-byte limit/);
    async function* chunked(): AsyncIterable<Buffer> { for (let i = 0; i < 5; i++) yield Buffer.alloc(512 * 1024, 0x20); }
    const r2 = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunked());
    assert.equal(r2.status, 413);
    assert.equal(rejected().body_too_large, 2);
  });

  await t.test('invalid trace and span ids: partial success names them, valid spans are kept', async () => {
    const body = traceBody([
      spanJson({ spanId: '1111111111111111' }),
      spanJson({ traceId: 'not-hex-at-all', spanId: '2222222222222222' }),
      spanJson({ traceId: '00000000000000000000000000000000', spanId: '3333333333333333' }),
      spanJson({ spanId: '44444444' }),
      spanJson({ spanId: '5555555555555555', parentSpanId: 'abc' }),
    ]);
    const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' }, body);
    assert.equal(r.status, 200);
    const partial = decodeExportResponse('traces', r.body, 'json');
    assert.equal(partial?.rejected, 4);
    assert.equal(partial?.errorMessage, 'resourceSpans[0].scopeSpans[0].spans[1]: traceId (not hex) must be 16 bytes (32 hex digits), not all zero');
    assert.equal(rejected().invalid_trace_id, 2);
    assert.equal(rejected().invalid_span_id, 1);
    assert.equal(rejected().invalid_parent_span_id, 1);
    assert.equal(c.stats().accepted.traces, 1);
    // The same over protobuf: a 5-byte trace id.
    const Req = otlpType('collector.trace.v1.ExportTraceServiceRequest');
    const pb = Req.encode(Req.fromObject({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: Buffer.alloc(5, 1), spanId: Buffer.alloc(8, 1), name: 'x' }] }] }] })).finish();
    const r2 = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/x-protobuf' }, Buffer.from(pb));
    assert.equal(r2.status, 200);
    assert.equal(decodeExportResponse('traces', r2.body, 'protobuf')?.rejected, 1);
  });

  await t.test('deeply nested attributes: span rejected past 8 levels, request refused past the JSON depth limit', async () => {
    const nest = (levels: number): Record<string, unknown> => {
      let v: Record<string, unknown> = { stringValue: 'leaf' };
      for (let i = 0; i < levels; i++) v = { kvlistValue: { values: [{ key: `k${i}`, value: v }] } };
      return v;
    };
    const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' },
      traceBody([spanJson({ spanId: '6666666666666666', attributes: [{ key: 'deep', value: nest(10) }] })]));
    assert.equal(r.status, 200);
    const partial = decodeExportResponse('traces', r.body, 'json');
    assert.equal(partial?.rejected, 1);
    assert.match(partial?.errorMessage ?? '', /nested deeper than 8 levels/);
    // Built as text: JSON.stringify itself cannot nest 5000 levels.
    const deepValue = `${'{"kvlistValue":{"values":[{"key":"k","value":'.repeat(5000)}{"stringValue":"leaf"}${'}]}}'.repeat(5000)}`;
    const deepBody = traceBody([spanJson({ spanId: '7777777777777777', attributes: [{ key: 'deep', value: 'PLACEHOLDER' }] })]).toString().replace('"PLACEHOLDER"', deepValue);
    const r2 = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' }, Buffer.from(deepBody));
    assert.equal(r2.status, 400);
    assert.match(r2.body.toString(), /JSON nesting deeper than 64 levels/);
    const many = Array.from({ length: 200 }, (_, i) => ({ key: `a${i}`, value: { stringValue: 'x' } }));
    const r3 = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' },
      traceBody([spanJson({ spanId: '8888888888888888', attributes: many }), spanJson({ spanId: '9999999999999999', attributes: [{ key: 'long', value: { stringValue: 'x'.repeat(20000) } }] })]));
    assert.equal(decodeExportResponse('traces', r3.body, 'json')?.rejected, 2);
    assert.equal(rejected().nesting_too_deep, 2);
    assert.equal(rejected().too_many_attributes, 1);
    assert.equal(rejected().attribute_too_long, 1);
  });

  await t.test('missing or wrong token: 401 before any decompression; API key works', async () => {
    const before = rejected().decompressed_too_large ?? 0;
    const bomb = await gzipBomb(64 * 1024 * 1024);
    const r = await post(c.url, '/v1/traces', { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, bomb);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="maxpro"');
    const r2 = await post(c.url, '/v1/traces', { authorization: 'Bearer wrong', 'content-type': 'application/x-protobuf' }, PB);
    assert.equal(r2.status, 401);
    const r3 = await fetch(`${c.url}/api/services`);
    assert.equal(r3.status, 401);
    assert.equal(rejected().unauthorized, 3);
    assert.equal(rejected().decompressed_too_large ?? 0, before);
    // Tokens never reach the log.
    assert.ok(!c.logs.join('\n').includes('wrong') && !c.logs.join('\n').includes(TOKEN));
  });

  await t.test('slowloris: slow headers and slow bodies are cut off; others are still served', async () => {
    const slow = await mustStartCollector(t, { timeouts: { headersMs: 1000, bodyMs: 1000 } });
    const { port } = new URL(slow.url);
    const drip = (first: string, drip: string): Promise<{ ms: number; answer: string }> => new Promise((resolve) => {
      const t0 = Date.now();
      let answer = '';
      const s: Socket = connect(Number(port), '127.0.0.1', () => s.write(first));
      const timer = setInterval(() => { if (!s.destroyed) s.write(drip); }, 200);
      s.on('data', (d) => { answer += d.toString(); });
      s.on('error', () => { /* reset is fine */ });
      s.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - t0, answer }); });
    });
    const headers = drip('POST /v1/traces HTTP/1.1\r\nHost: x\r\n', 'X-a: b\r\n');
    const body = drip(`POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`, '{');
    // Meanwhile a normal client is served at once.
    const ok = await post(slow.url, '/v1/traces', { ...AUTH, 'content-type': 'application/x-protobuf' }, PB);
    assert.equal(ok.status, 200);
    const [h, b] = await Promise.all([headers, body]);
    assert.ok(h.ms < 8000, `slow headers held the connection ${h.ms} ms`);
    assert.match(h.answer, /^HTTP\/1\.1 408/);
    assert.ok(b.ms < 8000, `slow body held the connection ${b.ms} ms`);
    assert.match(b.answer, /^HTTP\/1\.1 408/);
    assert.ok((slow.stats().rejected.request_timeout ?? 0) + (slow.stats().rejected.body_timeout ?? 0) >= 2, JSON.stringify(slow.stats().rejected));
  });

  await t.test('repeated abuse does not grow memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const round = async (): Promise<void> => {
      await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/x-protobuf' }, PB.subarray(0, PB.length - 9));
      await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'text/plain' }, PB);
      await post(c.url, '/v1/traces', { 'content-type': 'application/x-protobuf' }, PB);
      await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' }, Buffer.alloc(2 * 1024 * 1024 + 1, 0x20));
      await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/json' }, traceBody([spanJson({ traceId: 'zz' })]));
    };
    for (let i = 0; i < 20; i++) await round();
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < 200; i++) await round();
    gc();
    const after = process.memoryUsage();
    const heapGrowth = (after.heapUsed - before.heapUsed) / 1048576;
    const rssGrowth = (after.rss - before.rss) / 1048576;
    assert.ok(heapGrowth < 16, `heap grew ${heapGrowth.toFixed(1)} MiB over 1000 bad requests`);
    assert.ok(rssGrowth < 64, `RSS grew ${rssGrowth.toFixed(1)} MiB over 1000 bad requests`);
  });

  await t.test('afterwards the collector is healthy and still ingests', async () => {
    const r = await post(c.url, '/v1/traces', { ...AUTH, 'content-type': 'application/x-protobuf' }, PB);
    assert.equal(r.status, 200);
    const m = await fetch(`${c.url}/metrics`, { headers: AUTH });
    const text = await m.text();
    assert.match(text, /maxpro_collector_rejected_total\{reason="decompressed_too_large"\} 3/);
    assert.match(text, /maxpro_collector_rejected_total\{reason="unauthorized"\} 223/); // 3 + one per abuse round
  });
});
