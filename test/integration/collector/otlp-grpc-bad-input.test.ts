// SPDX-License-Identifier: Apache-2.0
// Bad input and overload over OTLP/gRPC against a real collector: each is
// answered with the right gRPC status, counted by reason, and the receiver
// keeps serving. Load refusals carry google.rpc.RetryInfo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect as connectHttp2, constants as h2 } from 'node:http2';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mustStartCollector, TESTDATA, TESTDATA_SKIP, TOKEN } from './collector-fixture.js';
import { createRawGrpcClient, GRPC_PATHS } from './grpc-client.js';
import { decodeExportResponse } from '../../../src/lib/otlp/otlp-codec.js';
import { otlpType } from '../../../src/lib/otlp/otlp-schema.js';
import { decodeRetryDelay, GrpcCode } from '../../../src/collector/collector-refusals.js';
import { buildTraceRequest } from '../../../bench/collector/load-generator.js';

const AUTH = { authorization: `Bearer ${TOKEN}` };
const PB_FILE = join(TESTDATA, 'otlp/examples-binpb/trace.binpb');
const skip = TESTDATA_SKIP || (existsSync(PB_FILE) ? false : `OTLP example ${PB_FILE} not found (set MAXPRO_TESTDATA)`);

test('gRPC bad input: status, reason counter, receiver keeps serving', { skip }, async (t) => {
  const PB = readFileSync(PB_FILE);
  const c = await mustStartCollector(t, { limits: { maxBodyBytes: 1024 * 1024, maxDecompressedBytes: 2 * 1024 * 1024 }, timeouts: { bodyMs: 2000 } });
  const client = createRawGrpcClient(c.grpcUrl!);
  t.after(() => client.close());
  const rejected = (): Record<string, number> => c.stats().rejected;

  await t.test('valid message: OK with an empty response, stored', async () => {
    const r = await client.send('traces', PB, AUTH);
    assert.equal(r.code, GrpcCode.OK, r.details);
    assert.equal(decodeExportResponse('traces', r.response!, 'protobuf'), undefined);
    assert.ok(c.stats().accepted.traces > 0);
  });

  await t.test('truncated message: INVALID_ARGUMENT naming the problem', async () => {
    const r = await client.send('traces', PB.subarray(0, PB.length - 9), AUTH);
    assert.equal(r.code, GrpcCode.INVALID_ARGUMENT);
    assert.match(r.details, /invalid protobuf/);
    assert.equal(rejected().malformed, 1);
    const r2 = await client.send('logs', Buffer.from([0x0a, 0x7f, 0x01]), AUTH);
    assert.equal(r2.code, GrpcCode.INVALID_ARGUMENT);
    assert.equal(rejected().malformed, 2);
  });

  await t.test('oversize message and gzip bomb: RESOURCE_EXHAUSTED without retry info', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 0x20);
    const r = await client.send('traces', big, AUTH);
    assert.equal(r.code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.equal(r.metadata?.get('grpc-status-details-bin').length ?? 0, 0);
    assert.equal(rejected().body_too_large, 1);
    const gz = createRawGrpcClient(c.grpcUrl!, { gzip: true });
    t.after(() => gz.close());
    // 16 MiB of zeros inflate from about 16 KiB on the wire.
    const bomb = Buffer.alloc(16 * 1024 * 1024);
    assert.ok(gzipSync(bomb).length < 64 * 1024);
    const r2 = await gz.send('traces', bomb, AUTH);
    assert.equal(r2.code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.match(r2.details, /decompresses to a size larger than 2097152/);
    assert.equal(rejected().decompressed_too_large, 1);
    // gzip within the limit is accepted.
    const r3 = await gz.send('traces', PB, AUTH);
    assert.equal(r3.code, GrpcCode.OK, r3.details);
  });

  await t.test('bad trace and span ids: OK with partial success naming them, valid spans kept', async () => {
    const Req = otlpType('collector.trace.v1.ExportTraceServiceRequest');
    const before = c.stats().accepted.traces;
    const pb = Req.encode(Req.fromObject({ resourceSpans: [{ scopeSpans: [{ spans: [
      { traceId: Buffer.alloc(5, 1), spanId: Buffer.alloc(8, 1), name: 'short trace id' },
      { traceId: Buffer.alloc(16, 0), spanId: Buffer.alloc(8, 2), name: 'zero trace id' },
      { traceId: Buffer.alloc(16, 3), spanId: Buffer.alloc(3, 3), name: 'short span id' },
      { traceId: Buffer.alloc(16, 4), spanId: Buffer.alloc(8, 4), name: 'ok' },
    ] }] }] })).finish();
    const r = await client.send('traces', pb, AUTH);
    assert.equal(r.code, GrpcCode.OK, r.details);
    const partial = decodeExportResponse('traces', r.response!, 'protobuf');
    assert.equal(partial?.rejected, 3);
    assert.match(partial?.errorMessage ?? '', /traceId/);
    assert.equal(rejected().invalid_trace_id, 2);
    assert.equal(rejected().invalid_span_id, 1);
    assert.equal(c.stats().accepted.traces, before + 1);
  });

  await t.test('missing, wrong token: UNAUTHENTICATED before the message is read; API key works', async () => {
    const r = await client.send('traces', PB);
    assert.equal(r.code, GrpcCode.UNAUTHENTICATED);
    const r2 = await client.send('metrics', PB, { authorization: 'Bearer wrong' });
    assert.equal(r2.code, GrpcCode.UNAUTHENTICATED);
    assert.equal(rejected().unauthorized, 2);
    const keyed = await mustStartCollector(t, { auth: { apiKeys: ['k-123'] } });
    const kc = createRawGrpcClient(keyed.grpcUrl!);
    t.after(() => kc.close());
    assert.equal((await kc.send('traces', PB, { 'x-maxpro-auth': 'k-123' })).code, GrpcCode.OK);
    assert.ok(!c.logs.join('\n').includes('wrong') && !c.logs.join('\n').includes(TOKEN));
  });

  await t.test('slow client: a message dripped slower than the body deadline is cut off; others are served', async () => {
    const session = connectHttp2(c.grpcUrl!);
    t.after(() => session.destroy());
    session.on('error', () => { /* reset is fine */ });
    const t0 = Date.now();
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: GRPC_PATHS.traces,
      'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${TOKEN}`,
    });
    stream.on('error', () => { /* reset is fine */ });
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(100_000, 1);
    stream.write(frame);
    const drip = setInterval(() => { if (!stream.destroyed) stream.write(Buffer.from([0x0a])); }, 200);
    const status = new Promise<string | undefined>((resolve) => {
      stream.on('trailers', (h) => resolve(String(h['grpc-status'])));
      stream.on('response', (h) => { if (h['grpc-status'] !== undefined) resolve(String(h['grpc-status'])); });
      stream.on('close', () => resolve(undefined));
    });
    stream.resume();
    const ok = await client.send('traces', PB, AUTH);
    assert.equal(ok.code, GrpcCode.OK);
    const code = await status;
    clearInterval(drip);
    assert.ok(Date.now() - t0 < 8000, `slow message held the call ${Date.now() - t0} ms`);
    assert.equal(code, String(GrpcCode.DEADLINE_EXCEEDED));
    assert.equal(rejected().body_timeout, 1);
  });

  await t.test('afterwards the receiver is healthy and /metrics counts the gRPC refusals', async () => {
    assert.equal((await client.send('traces', PB, AUTH)).code, GrpcCode.OK);
    const text = await (await fetch(`${c.url}/metrics`, { headers: AUTH })).text();
    assert.match(text, /maxpro_collector_rejected_total\{reason="unauthorized"\} 2/);
    assert.match(text, /maxpro_collector_rejected_total\{reason="decompressed_too_large"\} 1/);
  });
});

test('gRPC load shedding: RESOURCE_EXHAUSTED / UNAVAILABLE with RetryInfo, nothing refused is stored', async (t) => {
  const c = await mustStartCollector(t, { load: { maxSpansPerSecond: 1000, retryAfterSeconds: 2 } });
  const client = createRawGrpcClient(c.grpcUrl!);
  t.after(() => client.close());
  const results = [];
  for (let i = 0; i < 6; i++) results.push(await client.send('traces', buildTraceRequest(5, 100).body, AUTH));
  const limited = results.filter((r) => r.code === GrpcCode.RESOURCE_EXHAUSTED);
  const ok = results.filter((r) => r.code === GrpcCode.OK);
  assert.ok(ok.length >= 2 && limited.length >= 1, JSON.stringify(results.map((r) => r.code)));
  assert.equal(ok.length + limited.length, 6);
  for (const r of limited) {
    const details = r.metadata?.get('grpc-status-details-bin')[0];
    assert.ok(Buffer.isBuffer(details), 'RetryInfo trailer present');
    assert.equal(decodeRetryDelay(details), 2);
    assert.match(r.details, /ingest rate above 1000 spans\/s/);
  }
  assert.equal(c.stats().rejected.rate_limited, limited.length);
  assert.equal(c.stats().accepted.traces, ok.length * 500);

  // A memory budget below one message's reservation: every call is UNAVAILABLE with RetryInfo.
  const m = await mustStartCollector(t, { limits: { maxDecompressedBytes: 2 * 1024 * 1024 }, load: { maxInflightBytes: 1024 * 1024, retryAfterSeconds: 3 } });
  const mc = createRawGrpcClient(m.grpcUrl!);
  t.after(() => mc.close());
  const r = await mc.send('traces', buildTraceRequest(1, 1).body, AUTH);
  assert.equal(r.code, GrpcCode.UNAVAILABLE);
  assert.equal(decodeRetryDelay(r.metadata!.get('grpc-status-details-bin')[0] as Buffer), 3);
  assert.equal(m.stats().rejected.memory_limit, 1);
  assert.equal(m.stats().accepted.traces, 0);
});
