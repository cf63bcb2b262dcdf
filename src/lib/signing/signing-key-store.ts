// SPDX-License-Identifier: Apache-2.0
/**
 * Where the build's signing key and the agent's trusted keys live. A release
 * key comes from `MAXPRO_SIGNING_KEY` (a `cosign.key`, encrypted with
 * `COSIGN_PASSWORD` or plain PKCS#8). Without one the build makes a
 * development key pair once, outside the clone (`/var/lib/maxpro/signing`
 * for root, else `~/.config/maxpro/signing`, mode 0600), and installs its
 * public key into the default trust root, so a fresh clone builds objects the
 * agent accepts on the same machine and nowhere else.
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { keyIdOf, parsePrivateKey } from './cosign-keys.js';

const isRoot = (): boolean => process.getuid?.() === 0;

/** The development key's directory (`MAXPRO_SIGNING_DIR` overrides). */
export function devSigningDir(): string {
  return process.env['MAXPRO_SIGNING_DIR'] ?? (isRoot() ? '/var/lib/maxpro/signing' : join(homedir(), '.config', 'maxpro', 'signing'));
}

export const SYSTEM_TRUSTED_KEYS_DIR = '/etc/maxpro/trusted-keys';

/** Where the build installs the development public key: the system trust root for root, else the user's. */
export function defaultTrustedKeysDir(): string {
  return isRoot() ? SYSTEM_TRUSTED_KEYS_DIR : join(homedir(), '.config', 'maxpro', 'trusted-keys');
}

/** The agent's default trust roots: directories of PEM public keys (a non-root agent also reads its user's). */
export function defaultTrustRoots(): string[] {
  return isRoot() ? [SYSTEM_TRUSTED_KEYS_DIR] : [SYSTEM_TRUSTED_KEYS_DIR, defaultTrustedKeysDir()];
}

/** A key id as a file name: the hint's bytes in hex, shortened. */
export const keyFileName = (keyId: string): string => `${Buffer.from(keyId, 'base64').toString('hex').slice(0, 16)}.pub`;

export interface SigningKey {
  key: KeyObject;
  keyId: string;
  publicPem: string;
  /** Where it came from: the release key's path or the development directory. */
  source: string;
  development: boolean;
}

/** Creates `path` with `data` only if it does not exist yet (a concurrent build's key wins). */
function createExclusive(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The release key from the environment, else the development key (made on first use). */
export function loadSigningKey(env: NodeJS.ProcessEnv = process.env): SigningKey {
  const release = env['MAXPRO_SIGNING_KEY'];
  if (release) {
    const key = parsePrivateKey(readFileSync(release, 'utf8'), release, env['COSIGN_PASSWORD']);
    return finish(key, release, false);
  }
  const dir = devSigningDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, 'cosign.key');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  createExclusive(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  chmodSync(keyPath, 0o600);
  const key = parsePrivateKey(readFileSync(keyPath, 'utf8'), keyPath);
  const s = finish(key, dir, true);
  const pubPath = join(dir, 'cosign.pub');
  writeFileSync(`${pubPath}.tmp`, s.publicPem, { mode: 0o644 });
  renameSync(`${pubPath}.tmp`, pubPath);
  return s;
}

function finish(key: KeyObject, source: string, development: boolean): SigningKey {
  const publicPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
  return { key, keyId: keyIdOf(key), publicPem, source, development };
}

/** Installs a public key into a trust directory as `<key id hex>.pub`; returns its path. */
export function installTrustedKey(publicPem: string, keyId: string, dir = defaultTrustedKeysDir()): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, keyFileName(keyId));
  writeFileSync(`${path}.tmp`, publicPem, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
  return path;
}
