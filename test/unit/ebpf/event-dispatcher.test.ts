// SPDX-License-Identifier: Apache-2.0
// The dispatcher counts and skips what it cannot decode and keeps going.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventDispatcher, RECORD_HEADER_BYTES } from '../../../src/ebpf/index.js';
import type { EventBatch, KindDecoder } from '../../../src/ebpf/index.js';

function batch(records: { kind: number; version: number; size: number; len?: number }[]): EventBatch {
  const total = records.reduce((a, r) => a + RECORD_HEADER_BYTES + (((r.len ?? r.size) + 7) & ~7), 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let off = 0;
  for (const r of records) {
    const len = r.len ?? r.size;
    view.setUint32(off, len, true);
    const rec = off + RECORD_HEADER_BYTES;
    if (len >= 16) {
      view.setUint8(rec, r.kind);
      view.setUint8(rec + 1, r.version);
      view.setUint32(rec + 4, r.size, true);
      view.setBigUint64(rec + 8, 123n, true);
    }
    off = rec + ((len + 7) & ~7);
  }
  return { view, bytes, byteLength: total, count: records.length };
}

describe('event dispatcher', () => {
  test('routes by kind and counts every skip by reason', () => {
    const seen: number[] = [];
    const ok: KindDecoder = { version: 1, minSize: 24, decode: (v, off) => { seen.push(Number(v.getBigUint64(off + 8, true))); } };
    const bad: KindDecoder = { version: 1, minSize: 16, decode: () => { throw new Error('boom'); } };
    const errors: number[] = [];
    const d = createEventDispatcher({ decoders: new Map([[1, ok], [2, bad]]), onDecodeError: (k) => errors.push(k) });
    d.dispatch(batch([
      { kind: 1, version: 1, size: 24 },
      { kind: 1, version: 1, size: 24 },
      { kind: 9, version: 1, size: 24 },
      { kind: 1, version: 2, size: 24 },
      { kind: 1, version: 1, size: 16 },
      { kind: 1, version: 1, size: 40, len: 24 },
      { kind: 2, version: 1, size: 16 },
      { kind: 0, version: 0, size: 8 },
      { kind: 1, version: 1, size: 24 },
    ]));
    assert.deepEqual(seen, [123, 123, 123]);
    const s = d.stats();
    assert.equal(s.decoded.get(1), 3);
    assert.deepEqual(Object.fromEntries(s.skipped), {
      '9:unknown_kind': 1, '1:bad_version': 1, '1:short_record': 2, '2:decode_error': 1, '-1:short_record': 1,
    });
    assert.deepEqual(errors, [2]);
  });
});
