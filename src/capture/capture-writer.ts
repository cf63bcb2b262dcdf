// SPDX-License-Identifier: Apache-2.0
/**
 * Writes a capture file: the file header once, then one block per kind
 * whenever that kind's pending records pass `maxBlockBytes` or the flush
 * interval ends. Each block goes out in one write and is fsync'd, so after
 * a kill -9 every block but possibly the last is complete on disk.
 * Pending records are bounded by `maxBlockBytes` per kind.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { CaptureError } from './capture-errors.js';
import { BLOCK_KINDS, CODEC_ZLIB, MAX_PAYLOAD_BYTES, encodeBlockHeader, encodeFileHeader, type BlockKind } from './capture-format.js';
import { crc32 } from './crc32.js';

export interface CaptureWriterOptions {
  path: string;
  /** Replace an existing file; default false (refuse). */
  overwrite?: boolean;
  /** Uncompressed bytes after which a kind's block is written; default 256 KiB. */
  maxBlockBytes?: number;
  /** fsync after every block; default true. */
  fsync?: boolean;
}

/** What a writer wrote so far. */
export interface CaptureWriterStats {
  blocks: number;
  bytes: number;
  records: Record<BlockKind, number>;
}

export interface CaptureWriter {
  /** Queues one record; `timeNs` is its time (Unix ns) for the block's time range. */
  append(kind: BlockKind, record: unknown, timeNs: bigint): void;
  /** Writes every kind's pending records as blocks. */
  flush(): void;
  /** Flushes and closes the file. */
  close(): void;
  stats(): CaptureWriterStats;
}

interface Pending {
  lines: string[];
  bytes: number;
  startNs: bigint;
  endNs: bigint;
}

const zeroCounts = (): Record<BlockKind, number> => Object.fromEntries(Object.keys(BLOCK_KINDS).map((k) => [k, 0])) as Record<BlockKind, number>;

/** Creates the file (refusing an existing one unless `overwrite`) and writes its header. */
export function createCaptureWriter(options: CaptureWriterOptions): CaptureWriter {
  const maxBlockBytes = Math.min(options.maxBlockBytes ?? 256 * 1024, MAX_PAYLOAD_BYTES);
  const sync = options.fsync ?? true;
  let fd: number;
  try {
    fd = openSync(options.path, options.overwrite ? 'w' : 'wx', 0o600);
    writeSync(fd, encodeFileHeader());
    if (sync) fsyncSync(fd);
  } catch (err) {
    throw new CaptureError(options.path, `cannot create the capture: ${(err as Error).message}`, { cause: err });
  }
  const pending = new Map<BlockKind, Pending>();
  const stats: CaptureWriterStats = { blocks: 0, bytes: 16, records: zeroCounts() };
  let closed = false;

  const writeBlock = (kind: BlockKind, p: Pending): void => {
    pending.delete(kind);
    const payload = deflateSync(Buffer.from(`${p.lines.join('\n')}\n`));
    const header = encodeBlockHeader({ kind, codec: CODEC_ZLIB, payloadBytes: payload.length, records: p.lines.length, startNs: p.startNs, endNs: p.endNs, payloadCrc: crc32(payload) });
    try {
      writeSync(fd, Buffer.concat([header, payload]));
      if (sync) fsyncSync(fd);
    } catch (err) {
      throw new CaptureError(options.path, `cannot write a ${kind} block: ${(err as Error).message}`, { cause: err });
    }
    stats.blocks++;
    stats.bytes += header.length + payload.length;
    stats.records[kind] += p.lines.length;
  };

  return {
    append(kind, record, timeNs) {
      if (closed) throw new CaptureError(options.path, 'append after close');
      const line = JSON.stringify(record);
      let p = pending.get(kind);
      if (!p) {
        p = { lines: [], bytes: 0, startNs: timeNs, endNs: timeNs };
        pending.set(kind, p);
      }
      p.lines.push(line);
      p.bytes += line.length + 1;
      if (timeNs < p.startNs) p.startNs = timeNs;
      if (timeNs > p.endNs) p.endNs = timeNs;
      if (p.bytes >= maxBlockBytes) writeBlock(kind, p);
    },
    flush() {
      for (const [kind, p] of [...pending]) writeBlock(kind, p);
    },
    close() {
      if (closed) return;
      this.flush();
      closed = true;
      closeSync(fd);
    },
    stats: () => ({ ...stats, records: { ...stats.records } }),
  };
}
