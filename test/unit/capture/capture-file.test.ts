// SPDX-License-Identifier: Apache-2.0
// The capture file format: what the writer writes the reader reads back; a file cut anywhere
// (a recorder killed mid-write) reads to its last complete block; damaged blocks are reported
// with their offset and skipped, and the blocks after them still read.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureWriter } from '../../../src/capture/capture-writer.js';
import { readCaptureBlocks, type CaptureProblem } from '../../../src/capture/capture-reader.js';
import { BLOCK_HEADER_SIZE, FILE_HEADER_SIZE } from '../../../src/capture/capture-format.js';
import { CaptureError } from '../../../src/capture/capture-errors.js';
import { crc32 } from '../../../src/capture/crc32.js';

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-capture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A capture of `blocks` event blocks of `per` records each; returns the file and each block's offset. */
function writeCapture(path: string, blocks: number, per = 10): number[] {
  const w = createCaptureWriter({ path, maxBlockBytes: 1 << 20 });
  const offsets: number[] = [];
  for (let b = 0; b < blocks; b++) {
    offsets.push(w.stats().bytes);
    for (let i = 0; i < per; i++) w.append('events', { n: b * per + i, text: `event ${b}/${i}` }, 1_700_000_000_000_000_000n + BigInt(b * per + i));
    w.flush();
  }
  w.close();
  return offsets;
}

function readAll(path: string): { ns: number[]; problems: CaptureProblem[] } {
  const problems: CaptureProblem[] = [];
  const ns: number[] = [];
  for (const b of readCaptureBlocks(path, (p) => problems.push(p))) for (const r of b.records) ns.push((r as { n: number }).n);
  return { ns, problems };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('capture file', () => {
  test('crc32 matches the standard check value', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
  });

  test('round trip: records, kinds, time ranges and counts come back as written', (t) => {
    const path = join(tmp(t), 'a.mxcap');
    const w = createCaptureWriter({ path, maxBlockBytes: 200 });
    w.append('meta', { format: 1 }, 5n);
    for (let i = 0; i < 50; i++) w.append(i % 2 ? 'spans' : 'events', { i }, BigInt(1000 + i));
    w.close();
    const s = w.stats();
    assert.equal(s.records.events, 25);
    assert.equal(s.records.spans, 25);
    assert.ok(s.blocks > 3, 'small blocks split the stream');
    assert.equal(readFileSync(path).length, s.bytes);
    const blocks = [...readCaptureBlocks(path)];
    assert.equal(blocks.length, s.blocks);
    assert.deepEqual(blocks.filter((b) => b.header.kind === 'spans').flatMap((b) => b.records.map((r) => (r as { i: number }).i)), range(0, 50).filter((i) => i % 2));
    for (const b of blocks) {
      const times = b.records.map((r) => BigInt(1000 + ((r as { i?: number }).i ?? -995)));
      assert.equal(b.header.startNs, times.reduce((a, x) => (x < a ? x : a)));
      assert.equal(b.header.endNs, times.reduce((a, x) => (x > a ? x : a)));
    }
    assert.throws(() => createCaptureWriter({ path }), CaptureError, 'an existing capture is not overwritten');
  });

  test('a file cut at any byte reads every block before the cut, and names the torn one as the tail', (t) => {
    const dir = tmp(t);
    const path = join(dir, 'full.mxcap');
    const offsets = writeCapture(path, 4);
    const full = readFileSync(path);
    const cutPath = join(dir, 'cut.mxcap');
    for (let cut = offsets[2]!; cut < full.length; cut++) {
      writeFileSync(cutPath, full.subarray(0, cut));
      const { ns, problems } = readAll(cutPath);
      const complete = offsets.filter((o, i) => (offsets[i + 1] ?? full.length) <= cut).length;
      assert.deepEqual(ns, range(0, complete * 10), `cut at ${cut}`);
      const atBoundary = offsets.includes(cut);
      assert.equal(problems.length, atBoundary ? 0 : 1, `cut at ${cut}: ${JSON.stringify(problems)}`);
      if (!atBoundary) {
        assert.equal(problems[0]!.tail, true);
        assert.equal(problems[0]!.offset, offsets[complete]);
        assert.match(problems[0]!.reason, /incomplete .*the recorder stopped while writing it/);
      }
    }
  });

  // Each damage is applied at block 1 of a 4-block file; blocks 0, 2 and 3 must still read (and block 1 too when only bytes before it were added).
  const damages: { name: string; damage: (b: Buffer, at: number, next: number) => Buffer; reason: RegExp; lost?: boolean }[] = [
    { name: 'a flipped payload byte', damage: (b, at) => { b[at + BLOCK_HEADER_SIZE + 3]! ^= 0xff; return b; }, reason: /payload checksum mismatch/ },
    { name: 'a flipped header byte (length)', damage: (b, at) => { b[at + 9]! ^= 0x01; return b; }, reason: /block header checksum mismatch/ },
    { name: 'a zeroed block magic', damage: (b, at) => { b.fill(0, at, at + 4); return b; }, reason: /no block magic/ },
    { name: 'garbage inserted before the block', damage: (b, at) => Buffer.concat([b.subarray(0, at), Buffer.from('MXBK garbage MXBK'), b.subarray(at)]), reason: /block header checksum mismatch; skipped 17 bytes to the next block/, lost: false },
    { name: 'the block overwritten by zeros', damage: (b, at, next) => { b.fill(0, at, next); return b; }, reason: /no block magic/ },
  ];
  for (const d of damages) {
    test(`a damaged block is reported with its offset and skipped: ${d.name}`, (t) => {
      const path = join(tmp(t), 'd.mxcap');
      const offsets = writeCapture(path, 4);
      writeFileSync(path, d.damage(readFileSync(path), offsets[1]!, offsets[2]!));
      const { ns, problems } = readAll(path);
      assert.deepEqual(ns, d.lost === false ? range(0, 40) : [...range(0, 10), ...range(20, 40)]);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problems[0]!.offset, offsets[1]);
      assert.equal(problems[0]!.tail, false);
      assert.match(problems[0]!.reason, d.reason);
    });
  }

  const badFiles: { name: string; bytes: () => Buffer; error: RegExp }[] = [
    { name: 'not a capture', bytes: () => Buffer.from('{"hello":"world"}\n'), error: /not a maxpro capture file/ },
    { name: 'a newer format version', bytes: () => { const b = Buffer.alloc(FILE_HEADER_SIZE); Buffer.from([0x89, 0x4d, 0x58, 0x43, 0x41, 0x50, 0x0d, 0x0a]).copy(b); b.writeUInt16LE(9, 8); b.writeUInt32LE(crc32(b.subarray(0, 12)), 12); return b; }, error: /version 9; this build reads version 1/ },
    { name: 'an empty file', bytes: () => Buffer.alloc(0), error: /not a maxpro capture file/ },
  ];
  for (const f of badFiles) {
    test(`refuses ${f.name} with an error naming the file`, (t) => {
      const path = join(tmp(t), 'bad.mxcap');
      writeFileSync(path, f.bytes());
      assert.throws(() => [...readCaptureBlocks(path)], (e: unknown) => e instanceof CaptureError && e.code === 'MAXPRO_ERR_CAPTURE_FILE' && f.error.test(e.message) && e.message.startsWith(path));
    });
  }
});
