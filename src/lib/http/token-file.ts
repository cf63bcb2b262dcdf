// SPDX-License-Identifier: Apache-2.0
/**
 * Bearer tokens kept in files only their owner can read (mode 0600), the
 * scheme the agent and the collector share. A server creates its token file
 * on first start; a CLI on the same node reads it, so that the owner (root,
 * for a root-run agent) needs no flag while other users cannot read it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';

/** A fresh random token: 32 bytes, base64url (no `,` `=` or space, so it fits an OTLP headers variable). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The token in `path`, creating the file (and its directory) with a
 * fresh token when it does not exist.
 * @throws ConfigError when the file is readable by group or others, is empty, or cannot be read or created.
 */
export function ensureTokenFile(path: string): string {
  try {
    return readPrivateTokenFile(path);
  } catch (err) {
    if ((err as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw err;
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileSync(path, `${newToken()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process created it first: read theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`cannot create the token file ${path}: ${(err as Error).message}`, { cause: err, file: path });
    }
  }
  return readPrivateTokenFile(path);
}

/**
 * The token in `path`, which only its owner may read.
 * @throws ConfigError naming the file and the fix when it is missing, shared (mode & 0o077) or empty.
 */
export function readPrivateTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ConfigError(`cannot read the token file ${path}: ${(err as Error).message}`, { cause: err, file: path });
  }
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o077) !== 0) {
      throw new ConfigError(
        `token file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${path}`, { file: path },
      );
    }
    const token = readFileSync(fd, 'utf8').trim();
    if (token === '') throw new ConfigError(`token file ${path} is empty`, { file: path });
    return token;
  } finally {
    closeSync(fd);
  }
}
