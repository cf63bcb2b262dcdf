// SPDX-License-Identifier: Apache-2.0
/**
 * The capture file format (docs/capture-format.md): a 16-byte file header,
 * then append-only blocks. Each block is a 40-byte header (block magic,
 * kind, codec, payload length, record count, time range, payload CRC-32,
 * header CRC-32) and a zlib-compressed NDJSON payload, one record a line.
 * The two checksums let a reader tell a torn tail (kill -9 mid-write) from
 * a corrupt block, and the block magic lets it resynchronise after one.
 */
import { crc32 } from './crc32.js';

/** `\x89MXCAP\r\n`: binary-safe, and mangled visibly by text-mode transfers. */
export const FILE_MAGIC = Buffer.from([0x89, 0x4d, 0x58, 0x43, 0x41, 0x50, 0x0d, 0x0a]);
export const FORMAT_VERSION = 1;
export const FILE_HEADER_SIZE = 16;
/** `MXBK` */
export const BLOCK_MAGIC = Buffer.from([0x4d, 0x58, 0x42, 0x4b]);
export const BLOCK_HEADER_SIZE = 40;
/** A block payload larger than this is refused by the writer and taken as corruption by the reader. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
export const CODEC_ZLIB = 1;

/** What a block holds. Numbers are stable: never reuse one. */
export const BLOCK_KINDS = { meta: 1, events: 2, spans: 3, metrics: 4, profiles: 5, stats: 6 } as const;
export type BlockKind = keyof typeof BLOCK_KINDS;
const KIND_NAMES = new Map<number, BlockKind>(Object.entries(BLOCK_KINDS).map(([k, v]) => [v, k as BlockKind]));

/** The decoded header of one block. */
export interface BlockHeader {
  kind: BlockKind;
  codec: number;
  payloadBytes: number;
  records: number;
  /** Earliest and latest record time in the block, Unix ns. */
  startNs: bigint;
  endNs: bigint;
  payloadCrc: number;
}

export function encodeFileHeader(): Buffer {
  const b = Buffer.alloc(FILE_HEADER_SIZE);
  FILE_MAGIC.copy(b, 0);
  b.writeUInt16LE(FORMAT_VERSION, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt32LE(crc32(b.subarray(0, 12)), 12);
  return b;
}

/** Why the file header is unusable, or undefined when it is fine; `version` is the file's. */
export function checkFileHeader(b: Buffer): { problem?: string; version?: number } {
  if (b.length < FILE_HEADER_SIZE || !b.subarray(0, 8).equals(FILE_MAGIC)) return { problem: 'not a maxpro capture file (bad magic)' };
  if (b.readUInt32LE(12) !== crc32(b.subarray(0, 12))) return { problem: 'the file header checksum does not match' };
  const version = b.readUInt16LE(8);
  if (version !== FORMAT_VERSION) return { version, problem: `capture format version ${version}; this build reads version ${FORMAT_VERSION}` };
  return { version };
}

export function encodeBlockHeader(h: BlockHeader): Buffer {
  const b = Buffer.alloc(BLOCK_HEADER_SIZE);
  BLOCK_MAGIC.copy(b, 0);
  b.writeUInt8(BLOCK_KINDS[h.kind], 4);
  b.writeUInt8(h.codec, 5);
  b.writeUInt16LE(0, 6);
  b.writeUInt32LE(h.payloadBytes, 8);
  b.writeUInt32LE(h.records, 12);
  b.writeBigUInt64LE(h.startNs, 16);
  b.writeBigUInt64LE(h.endNs, 24);
  b.writeUInt32LE(h.payloadCrc, 32);
  b.writeUInt32LE(crc32(b.subarray(0, 36)), 36);
  return b;
}

/** Decodes a block header, or says why it is not one. */
export function decodeBlockHeader(b: Buffer): BlockHeader | { problem: string } {
  if (b.length < BLOCK_HEADER_SIZE) return { problem: 'truncated block header' };
  if (!b.subarray(0, 4).equals(BLOCK_MAGIC)) return { problem: 'no block magic' };
  if (b.readUInt32LE(36) !== crc32(b.subarray(0, 36))) return { problem: 'block header checksum mismatch' };
  const kind = KIND_NAMES.get(b.readUInt8(4));
  if (!kind) return { problem: `unknown block kind ${b.readUInt8(4)}` };
  const codec = b.readUInt8(5);
  if (codec !== CODEC_ZLIB) return { problem: `unknown codec ${codec}` };
  const payloadBytes = b.readUInt32LE(8);
  if (payloadBytes > MAX_PAYLOAD_BYTES) return { problem: `payload of ${payloadBytes} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit` };
  return { kind, codec, payloadBytes, records: b.readUInt32LE(12), startNs: b.readBigUInt64LE(16), endNs: b.readBigUInt64LE(24), payloadCrc: b.readUInt32LE(32) };
}
