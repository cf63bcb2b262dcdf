// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a capture file block by block. A block whose header or payload
 * fails its checksum, does not inflate or does not parse is reported
 * (offset, reason) and skipped: with a sound header the reader jumps over
 * the payload, else it resynchronises on the next block magic whose header
 * checksum holds. An incomplete last block (the recorder was killed while
 * writing it) is reported as such and ends the file. Memory: one block.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { CaptureError } from './capture-errors.js';
import { BLOCK_HEADER_SIZE, BLOCK_MAGIC, FILE_HEADER_SIZE, checkFileHeader, decodeBlockHeader, type BlockHeader } from './capture-format.js';
import { crc32 } from './crc32.js';

/** A block the reader could not use. */
export interface CaptureProblem {
  /** Byte offset of the block (or of the bytes skipped) in the file. */
  offset: number;
  /** Bytes skipped because of it. */
  bytes: number;
  reason: string;
  /** True for an incomplete block at the end of the file: what a killed recorder leaves. */
  tail: boolean;
}

/** One readable block and its records. */
export interface CaptureBlock {
  offset: number;
  header: BlockHeader;
  records: unknown[];
}

const SCAN_WINDOW = 1024 * 1024;

/**
 * Yields each readable block in file order; `onProblem` hears of each one
 * skipped. Throws `CaptureError` when the file cannot be opened or is not a
 * capture of a version this build reads.
 */
export function* readCaptureBlocks(path: string, onProblem: (p: CaptureProblem) => void = () => undefined): Generator<CaptureBlock> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new CaptureError(path, `cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number): Buffer => {
      const b = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      let got = 0;
      while (got < b.length) {
        const n = readSync(fd, b, got, b.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return b.subarray(0, got);
    };
    const head = checkFileHeader(read(0, FILE_HEADER_SIZE));
    if (head.problem) throw new CaptureError(path, head.problem);
    // The next offset at or after `from` where a block header with a sound checksum starts, or size.
    const resync = (from: number): number => {
      for (let at = from; at < size; at += SCAN_WINDOW - BLOCK_MAGIC.length) {
        const win = read(at, SCAN_WINDOW);
        for (let i = win.indexOf(BLOCK_MAGIC); i >= 0; i = win.indexOf(BLOCK_MAGIC, i + 1)) {
          if (!('problem' in decodeBlockHeader(read(at + i, BLOCK_HEADER_SIZE)))) return at + i;
        }
        if (win.length < SCAN_WINDOW) break;
      }
      return size;
    };
    let offset = FILE_HEADER_SIZE;
    while (offset < size) {
      const raw = read(offset, BLOCK_HEADER_SIZE);
      if (raw.length < BLOCK_HEADER_SIZE) {
        const n = Math.min(raw.length, BLOCK_MAGIC.length);
        const torn = raw.subarray(0, n).equals(BLOCK_MAGIC.subarray(0, n));
        onProblem({ offset, bytes: size - offset, tail: torn, reason: torn
          ? `incomplete block header (${raw.length} of ${BLOCK_HEADER_SIZE} bytes): the recorder stopped while writing it`
          : `${raw.length} trailing bytes that are not a block` });
        return;
      }
      const h = decodeBlockHeader(raw);
      if ('problem' in h) {
        const next = resync(offset + 1);
        onProblem({ offset, bytes: next - offset, reason: `${h.problem}; skipped ${next - offset} bytes to ${next < size ? 'the next block' : 'the end of the file'}`, tail: false });
        offset = next;
        continue;
      }
      const end = offset + BLOCK_HEADER_SIZE + h.payloadBytes;
      if (end > size) {
        // Either a torn last write or a header that lies about its length: a sound block further on tells them apart.
        const next = resync(offset + 1);
        if (next >= size) {
          onProblem({ offset, bytes: size - offset, reason: `incomplete ${h.kind} block (${size - offset - BLOCK_HEADER_SIZE} of ${h.payloadBytes} payload bytes): the recorder stopped while writing it`, tail: true });
          return;
        }
        onProblem({ offset, bytes: next - offset, reason: `${h.kind} block length runs past the end of the file; skipped to the next block`, tail: false });
        offset = next;
        continue;
      }
      const payload = read(offset + BLOCK_HEADER_SIZE, h.payloadBytes);
      const bad = (reason: string): void => onProblem({ offset, bytes: end - offset, reason: `${h.kind} block of ${h.records} records: ${reason}`, tail: false });
      if (crc32(payload) !== h.payloadCrc) {
        bad('payload checksum mismatch');
        offset = end;
        continue;
      }
      let records: unknown[];
      try {
        const text = inflateSync(payload).toString('utf8');
        records = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
      } catch (err) {
        bad(`payload does not decode: ${(err as Error).message}`);
        offset = end;
        continue;
      }
      if (records.length !== h.records) bad(`holds ${records.length} records, its header says ${h.records}`);
      else yield { offset, header: h, records };
      offset = end;
    }
  } finally {
    closeSync(fd);
  }
}
