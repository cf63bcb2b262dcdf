// SPDX-License-Identifier: Apache-2.0
// Every TypeScript event layout must match the BTF of its compiled object,
// offset by offset, so C and TS cannot drift apart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfObjectPath, readCString } from '../../../src/ebpf/index.js';
import { eventCatalog } from '../../../src/probes/event-layouts.js';
import { readBtfStructs } from '../../helpers/btf.js';

const { layouts } = await eventCatalog();

describe('event layouts match BTF', () => {
  for (const layout of layouts) {
    test(`${layout.probe}: struct ${layout.struct}`, () => {
      const st = readBtfStructs(bpfObjectPath(layout.probe)).get(layout.struct);
      assert.ok(st, `struct ${layout.struct} is in the BTF of ${layout.probe}.bpf.o (force emission if unused)`);
      assert.equal(layout.size, st.size, `sizeof(struct ${layout.struct})`);
      const btfNames = st.members.map((m) => m.name).filter((n) => n !== '');
      assert.deepEqual(Object.keys(layout.fields).sort(), [...btfNames].sort(), 'same members');
      for (const m of st.members) {
        const f = (layout.fields as Record<string, { offset: number; size: number }>)[m.name];
        if (!f) continue;
        assert.equal(f.offset, m.offset, `${layout.struct}.${m.name} offset`);
        if (m.size) assert.equal(f.size, m.size, `${layout.struct}.${m.name} size`);
      }
    });
  }

  test('readCString stops at NUL and at the limit, and decodes UTF-8', () => {
    const b = new Uint8Array([104, 105, 0, 120, 0xe2, 0x82, 0xac, 0]);
    assert.equal(readCString(b, 0, 8), 'hi');
    assert.equal(readCString(b, 0, 1), 'h');
    assert.equal(readCString(b, 3, 5), 'x€');
    assert.equal(readCString(b, 2, 4), '');
  });
});
