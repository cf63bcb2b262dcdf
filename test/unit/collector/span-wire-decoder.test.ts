// SPDX-License-Identifier: Apache-2.0
// The protobuf fast path must store exactly what the message path stores:
// same rows, same rejections, same errors, for every feature of a span.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSpanRows } from '../../../src/collector/span-wire-decoder.js';
import { normalizeSpans, type KeyValue, type RecordLimits } from '../../../src/collector/span-model.js';
import { decodeExportMessage, encodeExportRequest } from '../../../src/lib/otlp/otlp-codec.js';
import { OtlpDecodeError } from '../../../src/lib/otlp/otlp-errors.js';
import type { PbMessage } from '../../../src/lib/otlp/otlp-values.js';
import { sharedTestdata } from '../../helpers/testdata.js';

const { dir: OTLP, skip } = sharedTestdata('otlp');

function both(body: Uint8Array, limits?: RecordLimits, extra: KeyValue[] = []): void {
  const slow = normalizeSpans(decodeExportMessage('traces', body, 'protobuf') as unknown as PbMessage, limits, extra);
  const fast = decodeSpanRows(body, limits, extra);
  assert.deepEqual(fast, slow);
}

const ID = (n: number, len: number): string => n.toString(16).padStart(len, '0');

test('official trace.binpb: identical rows', { skip }, () => {
  both(readFileSync(join(OTLP, 'examples-binpb', 'trace.binpb')));
});

test('every span feature, rejections and baggage: identical on both paths', () => {
  const all = [
    { key: 's', value: { stringValue: 'héllo "q"\n' } }, { key: 'b', value: { boolValue: true } }, { key: 'f', value: { boolValue: false } },
    { key: 'i', value: { intValue: '42' } }, { key: 'neg', value: { intValue: '-7' } }, { key: 'big', value: { intValue: '9223372036854775807' } },
    { key: 'min', value: { intValue: '-9223372036854775808' } }, { key: 'd', value: { doubleValue: 1.5 } }, { key: 'z', value: { doubleValue: 0 } },
    { key: 'by', value: { bytesValue: 'AQID' } }, { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }, {}] } } },
    { key: 'earr', value: { arrayValue: {} } }, { key: 'kv', value: { kvlistValue: { values: [{ key: 'in', value: { kvlistValue: { values: [{ key: 'x', value: { doubleValue: -2.25 } }] } } }, { key: 'nov' }] } } },
    { key: 'ekv', value: { kvlistValue: {} } }, { key: 'empty', value: {} }, { key: 'novalue' },
    { key: 'nan', value: { doubleValue: 'NaN' } }, { key: 'inf', value: { doubleValue: 'Infinity' } }, { key: 'ninf', value: { doubleValue: '-Infinity' } },
  ];
  const span = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    traceId: ID(n, 32), spanId: ID(n, 16), parentSpanId: ID(n + 1000, 16), name: `op ${n}`, kind: n % 6, traceState: 'a=1',
    startTimeUnixNano: '1700000000000000001', endTimeUnixNano: '18446744073709551615', flags: 769,
    attributes: all, droppedAttributesCount: 3, droppedEventsCount: 1, droppedLinksCount: 2,
    events: [{ timeUnixNano: '5', name: 'ev', attributes: [{ key: 'e', value: { intValue: '1' } }], droppedAttributesCount: 1 }, { timeUnixNano: '0' }],
    links: [{ traceId: ID(9, 32), spanId: ID(9, 16), traceState: 'b=2', attributes: [{ key: 'l', value: { boolValue: true } }], droppedAttributesCount: 4, flags: 1 }, { traceId: ID(8, 32), spanId: ID(8, 16) }],
    status: { code: 2, message: 'bad' },
    ...extra,
  });
  const req = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc-a' } }], droppedAttributesCount: 1, entityRefs: [{ type: 'host', idKeys: ['host.id'] }] },
        schemaUrl: 'https://opentelemetry.io/schemas/1.24.0',
        scopeSpans: [
          { scope: { name: 'lib', version: '2', attributes: [{ key: 'sc', value: { stringValue: 'x' } }] }, schemaUrl: 'https://x', spans: [span(1), span(2, { status: {} }), span(3, { traceId: ID(0, 32) })] },
          { spans: [span(4, { spanId: 'abcd' }), span(5, { parentSpanId: '' }), span(6, { attributes: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } })) })] },
        ],
      },
      { scopeSpans: [{ scope: {}, spans: [span(7, { name: '', kind: 0, attributes: [] })] }] },
      { resource: { attributes: Array.from({ length: 300 }, (_, i) => ({ key: `r${i}`, value: { stringValue: 'v' } })) }, scopeSpans: [{ spans: [span(8)] }] },
    ],
  };
  const body = encodeExportRequest('traces', req, 'protobuf');
  both(body);
  both(body, { maxAttributeDepth: 1, maxAttributeValueLength: 5 }, [{ key: 'tenant', value: { stringValue: 'acme' } }, { key: 's', value: { stringValue: 'shadowed' } }]);
  both(body, { overLimit: 'refuse' });
  // Default: over the attribute count, the extras are dropped and counted as the SDKs do.
  const r = decodeSpanRows(body);
  assert.equal(r.rows.length, 6);
  assert.equal(r.rejected, 2);
  assert.deepEqual([...r.reasons.entries()].sort(), [['invalid_span_id', 1], ['invalid_trace_id', 1]]);
  assert.equal(r.rows[0]!.startNs, 1700000000000000001n);
  assert.equal(r.rows[0]!.endNs, 18446744073709551615n);
  const attrs = JSON.parse(r.rows[0]!.attributesJson) as KeyValue[];
  assert.deepEqual(attrs.filter((a) => ['nan', 'inf', 'ninf'].includes(a.key)).map((a) => a.value?.doubleValue), ['NaN', 'Infinity', '-Infinity']);
  const wide = r.rows.find((x) => x.name === 'op 6')!;
  assert.equal((JSON.parse(wide.attributesJson) as unknown[]).length, 128);
  assert.deepEqual(JSON.parse(wide.droppedJson), { droppedAttributesCount: 3 + 72, droppedEventsCount: 1, droppedLinksCount: 2 });
  const resource = JSON.parse(r.rows.find((x) => x.name === 'op 8')!.resourceJson) as { attributes: unknown[]; droppedAttributesCount: number };
  assert.equal(resource.attributes.length, 128);
  assert.equal(resource.droppedAttributesCount, 172);
  // Refuse mode: the same spans are rejected whole.
  const refused = decodeSpanRows(body, { overLimit: 'refuse' });
  assert.equal(refused.rows.length, 4);
  assert.deepEqual([...refused.reasons.entries()].sort(), [['invalid_span_id', 1], ['invalid_trace_id', 1], ['too_many_attributes', 2]]);
});

test('wire edge cases: oneof set twice, repeated fields, unknown fields', () => {
  // AnyValue with string_value then int_value then string_value again; plus an unknown field 99.
  const anyValue = Buffer.concat([Buffer.from([0x0a, 1, 0x61]), Buffer.from([0x18, 5]), Buffer.from([0x0a, 1, 0x62]), Buffer.from([0x98, 0x06, 1])]);
  const kv = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x12, anyValue.length]), anyValue]);
  const status1 = Buffer.from([0x12, 1, 0x78, 0x18, 2]);
  const status2 = Buffer.from([0x18, 1]);
  const spanBytes = Buffer.concat([
    Buffer.from([0x0a, 16]), Buffer.alloc(16, 1), Buffer.from([0x12, 8]), Buffer.alloc(8, 2),
    Buffer.from([0x2a, 1, 0x6e]), Buffer.from([0x2a, 1, 0x6d]), // name twice: the last wins
    Buffer.from([0x4a, kv.length]), kv,
    Buffer.from([0x7a, status1.length]), status1, Buffer.from([0x7a, status2.length]), status2,
    Buffer.from([0xa0, 0x1f, 0x07]), // unknown varint field 500
  ]);
  const scopeSpans = Buffer.concat([Buffer.from([0x12, spanBytes.length]), spanBytes]);
  const rs = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
  const body = Buffer.concat([Buffer.from([0x0a, rs.length]), rs]);
  both(body);
  const row = decodeSpanRows(body).rows[0]!;
  assert.equal(row.name, 'm');
  assert.equal(row.statusCode, 1);
  assert.equal(row.statusMessage, 'x', 'a second status merges into the first');
});

test('bad bodies: malformed and too deep, as OtlpDecodeError; random damage never crashes', { skip }, () => {
  const good = Buffer.from(readFileSync(join(OTLP, 'examples-binpb', 'trace.binpb')));
  assert.throws(() => decodeSpanRows(good.subarray(0, good.length - 9)), (e: unknown) => e instanceof OtlpDecodeError && e.reason === 'malformed');
  let v = Buffer.from([0x0a, 1, 0x61]);
  for (let i = 0; i < 200; i++) {
    const kvb = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x12]), varint(v.length), v]);
    const list = Buffer.concat([Buffer.from([0x0a]), varint(kvb.length), kvb]);
    v = Buffer.concat([Buffer.from([0x32]), varint(list.length), list]);
  }
  const kvb = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x12]), varint(v.length), v]);
  const spanBytes = Buffer.concat([Buffer.from([0x0a, 16]), Buffer.alloc(16, 1), Buffer.from([0x12, 8]), Buffer.alloc(8, 2), Buffer.from([0x4a]), varint(kvb.length), kvb]);
  const ss = Buffer.concat([Buffer.from([0x12]), varint(spanBytes.length), spanBytes]);
  const rs = Buffer.concat([Buffer.from([0x12]), varint(ss.length), ss]);
  const deep = Buffer.concat([Buffer.from([0x0a]), varint(rs.length), rs]);
  assert.throws(() => decodeSpanRows(deep), (e: unknown) => e instanceof OtlpDecodeError && e.reason === 'nesting_too_deep');
  let seed = 12345;
  const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let i = 0; i < 2000; i++) {
    const damaged = Buffer.from(good);
    for (let k = 0; k < 1 + (rand() % 4); k++) damaged[rand() % damaged.length] = rand() & 0xff;
    let fast;
    try {
      fast = decodeSpanRows(damaged);
    } catch (e) {
      assert.ok(e instanceof OtlpDecodeError, `damage ${i}: ${(e as Error).stack}`);
      continue;
    }
    // Where the damaged body still parses, both paths agree on it.
    let slow;
    try {
      slow = normalizeSpans(decodeExportMessage('traces', damaged, 'protobuf') as unknown as PbMessage);
    } catch {
      continue;
    }
    assert.deepEqual(fast, slow, `damage ${i}`);
  }
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
}
