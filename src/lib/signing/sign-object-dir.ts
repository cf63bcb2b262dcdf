// SPDX-License-Identifier: Apache-2.0
/**
 * Signs every `*.bpf.o` of one directory: `<obj>.sig` (base64 DER),
 * `<obj>.sigstore.json` (bundle v0.3), and the directory's `manifest.json`
 * (name, version, arch, SHA-256 of each object), itself signed the same way.
 * One directory per architecture; subdirectories are signed by their own call.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { sha256, signBlob } from './blob-signature.js';
import { formatManifest, MANIFEST_FILE } from './object-manifest.js';
import type { ManifestEntry } from './object-manifest.js';

export interface SignDirOptions {
  dir: string;
  /** BPF target architecture of the objects (`x86`, `arm64`). */
  arch: string;
  version: string;
  key: KeyObject;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  writeFileSync(`${path}.tmp`, data, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

/** Writes a blob's `.sig` and `.sigstore.json` beside it. */
export function signFile(path: string, key: KeyObject, bytes: Uint8Array = readFileSync(path)): void {
  const s = signBlob(bytes, key);
  writeAtomic(`${path}.sig`, s.signature.toString('base64'));
  writeAtomic(`${path}.sigstore.json`, `${JSON.stringify(s.bundle)}\n`);
}

/** Returns the manifest entries written. */
export function signObjectDir(o: SignDirOptions): ManifestEntry[] {
  const files = readdirSync(o.dir).filter((f) => f.endsWith('.bpf.o')).sort();
  const entries: ManifestEntry[] = [];
  for (const file of files) {
    const path = join(o.dir, file);
    const bytes = readFileSync(path);
    signFile(path, o.key, bytes);
    entries.push({ name: file.replace(/\.bpf\.o$/, ''), file, version: o.version, arch: o.arch, sha256: sha256(bytes).toString('hex'), size: bytes.length });
  }
  const manifestPath = join(o.dir, MANIFEST_FILE);
  const text = formatManifest(entries);
  writeAtomic(manifestPath, text);
  signFile(manifestPath, o.key, Buffer.from(text));
  return entries;
}
