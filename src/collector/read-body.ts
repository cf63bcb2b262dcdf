// SPDX-License-Identifier: Apache-2.0
/**
 * Reads an HTTP request body under limits: compressed size, inflated size
 * (checked while inflating, so a decompression bomb stops after at most one
 * chunk past the limit) and a deadline.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { BodyRefusalError } from './collector-refusals.js';

/** Limits of {@link readBody}. */
export interface ReadBodyOptions {
  /** Most bytes on the wire. */
  maxBytes: number;
  /** Most bytes after inflating. */
  maxInflatedBytes: number;
  /** Whether the body is gzip. */
  gzip: boolean;
  /** Deadline for the whole body, ms. */
  timeoutMs: number;
}

/**
 * Resolves with the (inflated) body. On a limit it rejects with a
 * {@link BodyRefusalError} at once and keeps discarding the rest of the body (up to
 * `maxBytes`) so the client can read the answer instead of a reset.
 */
export function readBody(req: IncomingMessage, o: ReadBodyOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let inflated = 0;
    let done = false;
    const gunzip = o.gzip ? createGunzip({ chunkSize: 64 * 1024 }) : undefined;

    const finish = (err: BodyRefusalError | undefined, body?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      chunks.length = 0;
      if (gunzip) {
        req.unpipe(gunzip);
        gunzip.destroy();
      }
      if (err) {
        // Drain what the client still sends so it can read our answer; the
        // byte cap still holds while draining.
        req.removeListener('data', onWire);
        req.on('data', (c: Buffer) => {
          wire += c.length;
          if (wire > o.maxBytes * 2) req.destroy();
        });
        req.resume();
        reject(err);
      } else {
        resolve(body!);
      }
    };
    const timer = setTimeout(() => finish(new BodyRefusalError(408, 'body_timeout', `request body not received within ${o.timeoutMs} ms`)), o.timeoutMs);
    timer.unref();

    const onWire = (c: Buffer): void => {
      wire += c.length;
      if (wire > o.maxBytes) {
        finish(new BodyRefusalError(413, 'body_too_large', `request body exceeds the ${o.maxBytes}-byte limit`));
        return;
      }
      if (!gunzip) chunks.push(c);
    };
    req.on('data', onWire);
    req.on('aborted', () => finish(new BodyRefusalError(400, 'aborted', 'client aborted the request')));
    req.on('error', () => finish(new BodyRefusalError(400, 'aborted', 'request stream failed')));

    if (gunzip) {
      gunzip.on('data', (c: Buffer) => {
        inflated += c.length;
        if (inflated > o.maxInflatedBytes) {
          finish(new BodyRefusalError(413, 'decompressed_too_large', `inflated request body exceeds the ${o.maxInflatedBytes}-byte limit`));
          return;
        }
        chunks.push(c);
      });
      gunzip.on('error', (e) => finish(new BodyRefusalError(400, 'bad_gzip', `invalid gzip body: ${e.message}`)));
      gunzip.on('end', () => finish(undefined, Buffer.concat(chunks, inflated)));
      req.pipe(gunzip);
    } else {
      req.on('end', () => finish(undefined, Buffer.concat(chunks, wire)));
    }
  });
}
