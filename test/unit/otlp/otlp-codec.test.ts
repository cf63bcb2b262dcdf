// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeExportRequest, decodeExportResponse, encodeErrorStatus, encodeExportRequest, encodeExportResponse, type OtlpSignal,
} from '../../../src/lib/otlp/otlp-codec.js';
import { OtlpDecodeError } from '../../../src/lib/otlp/otlp-errors.js';
import { sharedTestdata } from '../../helpers/testdata.js';

const { dir: OTLP, skip } = sharedTestdata('otlp');
const EXAMPLES: [string, OtlpSignal][] = [['trace', 'traces'], ['logs', 'logs'], ['metrics', 'metrics'], ['events', 'logs']];

for (const [name, signal] of EXAMPLES) {
  test(`example ${name}: JSON, its binpb twin and the roundtrip JSON decode to the same request`, { skip }, () => {
    const fromJson = decodeExportRequest(signal, readFileSync(join(OTLP, 'examples', `${name}.json`)), 'json');
    const fromPb = decodeExportRequest(signal, readFileSync(join(OTLP, 'examples-binpb', `${name}.binpb`)), 'protobuf');
    const fromRoundtrip = decodeExportRequest(signal, readFileSync(join(OTLP, 'examples-binpb', `${name}.roundtrip.json`)), 'json');
    assert.deepEqual(fromJson, fromPb);
    assert.deepEqual(fromRoundtrip, fromPb);
    assert.ok(Object.keys(fromPb).length > 0);
    // Encoding the canonical form gives back the same request, both ways.
    for (const format of ['protobuf', 'json'] as const) {
      assert.deepEqual(decodeExportRequest(signal, encodeExportRequest(signal, fromPb, format), format), fromPb, format);
    }
  });
}

test('trace.json: upper-case hex ids become lower case; 64-bit times stay exact', { skip }, () => {
  const req = decodeExportRequest('traces', readFileSync(join(OTLP, 'examples', 'trace.json')), 'json');
  const span = (((req.resourceSpans as Record<string, unknown>[])[0]!.scopeSpans as Record<string, unknown>[])[0]!.spans as Record<string, unknown>[])[0]!;
  assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(span.spanId, 'eee19b7ec3c1b174');
  assert.equal(span.parentSpanId, 'eee19b7ec3c1b173');
  assert.equal(span.startTimeUnixNano, '1544712660000000000');
  assert.equal(span.kind, 2);
});

test('enum names, numeric int64 and unknown fields are accepted in JSON', () => {
  const body = JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: [{
      traceId: 'AABBCCDDEEFF00112233445566778899', spanId: '0102030405060708', name: 'x', kind: 'SPAN_KIND_CLIENT',
      startTimeUnixNano: 1700000000000000000, endTimeUnixNano: '1700000000000000001', futureField: { a: 1 },
      attributes: [{ key: 'n', value: { intValue: 42 } }, { key: 'b', value: { bytesValue: 'AQI=' } }],
    }] }] }],
  });
  const req = decodeExportRequest('traces', Buffer.from(body), 'json');
  const span = (((req.resourceSpans as Record<string, unknown>[])[0]!.scopeSpans as Record<string, unknown>[])[0]!.spans as Record<string, unknown>[])[0]!;
  assert.equal(span.kind, 3);
  assert.equal(span.traceId, 'aabbccddeeff00112233445566778899');
  assert.deepEqual(span.attributes, [{ key: 'n', value: { intValue: '42' } }, { key: 'b', value: { bytesValue: 'AQI=' } }]);
  assert.equal(span.futureField, undefined);
});

test('bad bodies raise OtlpDecodeError with a reason and a message saying what is wrong', { skip }, () => {
  const pb = readFileSync(join(OTLP, 'examples-binpb', 'trace.binpb'));
  assert.throws(() => decodeExportRequest('traces', pb.subarray(0, pb.length - 7), 'protobuf'),
    (e: unknown) => e instanceof OtlpDecodeError && e.reason === 'malformed' && e.code === 'MAXPRO_ERR_COLLECTOR_OTLP_DECODE' && /protobuf/.test(e.message));
  assert.throws(() => decodeExportRequest('traces', Buffer.from('{"resourceSpans": ['), 'json'),
    (e: unknown) => e instanceof OtlpDecodeError && e.reason === 'malformed' && /invalid JSON/.test(e.message));
  assert.throws(() => decodeExportRequest('traces', Buffer.from('[1]'), 'json'), OtlpDecodeError);
  const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
  assert.throws(() => decodeExportRequest('traces', Buffer.from(`{"x":${deep}}`), 'json', { maxJsonDepth: 64 }),
    (e: unknown) => e instanceof OtlpDecodeError && e.reason === 'nesting_too_deep' && /offset/.test(e.message));
  // Deep protobuf nesting, written by hand: AnyValue.kvlistValue -> KeyValueList.values -> KeyValue.value -> AnyValue ...
  let v = Buffer.from([0x0a, 4, 0x6c, 0x65, 0x61, 0x66]); // AnyValue{stringValue: 'leaf'}
  for (let i = 0; i < 200; i++) {
    const kv = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x12]), varint(v.length), v]);
    const list = Buffer.concat([Buffer.from([0x0a]), varint(kv.length), kv]);
    v = Buffer.concat([Buffer.from([0x32]), varint(list.length), list]);
  }
  const kv = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x12]), varint(v.length), v]);
  const resource = Buffer.concat([Buffer.from([0x0a]), varint(kv.length), kv]);
  const rs = Buffer.concat([Buffer.from([0x0a]), varint(resource.length), resource]);
  const req = Buffer.concat([Buffer.from([0x0a]), varint(rs.length), rs]);
  assert.throws(() => decodeExportRequest('traces', req, 'protobuf'), (e: unknown) => e instanceof OtlpDecodeError && e.reason === 'nesting_too_deep');
});

test('responses: partial success round trip in both encodings; empty success is empty', () => {
  for (const format of ['protobuf', 'json'] as const) {
    const body = encodeExportResponse('traces', { rejected: 3, errorMessage: 'bad ids' }, format);
    assert.deepEqual(decodeExportResponse('traces', body, format), { rejected: 3, errorMessage: 'bad ids' });
    assert.equal(decodeExportResponse('logs', encodeExportResponse('logs', { rejected: 0, errorMessage: '' }, format), format), undefined);
  }
  assert.deepEqual(JSON.parse(Buffer.from(encodeErrorStatus(3, 'nope', 'json')).toString()), { code: 3, message: 'nope' });
  assert.deepEqual([...encodeErrorStatus(3, 'ab', 'protobuf')], [0x08, 3, 0x12, 2, 0x61, 0x62]);
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
}
