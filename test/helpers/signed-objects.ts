// SPDX-License-Identifier: Apache-2.0
/** Directories of signed BPF objects for the supply-chain tests, signed by keys the test makes. */
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyIdOf } from '../../src/lib/signing/cosign-keys.js';
import { signObjectDir } from '../../src/lib/signing/sign-object-dir.js';

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  /** PEM file of the public key. */
  pubPath: string;
}

export function tempDir(t: { after(fn: () => void): void }, prefix = 'maxpro-signed-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function makeKey(dir: string, name: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  mkdirSync(dir, { recursive: true });
  const pubPath = join(dir, `${name}.pub`);
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644 });
  return { privateKey, publicKey, keyId: keyIdOf(publicKey), pubPath };
}

/** Copies `objects` (manifest name -> source file) into `dir` as `<name>.bpf.o` and signs them. */
export function signedDir(dir: string, objects: Record<string, string>, key: KeyObject, o: { version: string; arch: string }): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [name, src] of Object.entries(objects)) {
    const dst = join(dir, `${name}.bpf.o`);
    copyFileSync(src, dst);
    chmodSync(dst, 0o644);
  }
  signObjectDir({ dir, key, version: o.version, arch: o.arch });
  return dir;
}
