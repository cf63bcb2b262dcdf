// SPDX-License-Identifier: Apache-2.0
/**
 * What a BPF object must satisfy before it is parsed: signed by one of the
 * pinned public keys (several, for rotation), named in its directory's signed
 * manifest with its digest, for this architecture, at no lower a version than
 * the minimum. ON by default; turning it off is loud (doctor, a metric, a log
 * line per object).
 *
 * Defaults, each overridable by `configureObjectTrust` (the agent's config)
 * and then by the environment:
 *   MAXPRO_BPF_VERIFY=off          load unsigned objects (development only)
 *   MAXPRO_TRUSTED_KEYS=a:b        PEM files or directories of them (default /etc/maxpro/trusted-keys)
 *   MAXPRO_BPF_MIN_VERSION=x.y.z   oldest object version accepted (default: this MaxPro's version)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, SigningKeyError } from '../lib/errors.js';
import { keyIdOf, parsePublicKey } from '../lib/signing/cosign-keys.js';
import type { TrustedKey } from '../lib/signing/blob-signature.js';
import { bpfArch, isVersion } from '../lib/signing/object-manifest.js';
import { defaultTrustRoots } from '../lib/signing/signing-key-store.js';
import { repoRoot } from './native.js';

export interface ObjectTrustPolicy {
  /** False: objects load unverified (and every one says so). */
  verify: boolean;
  /** PEM public-key files, or directories whose `*.pub` / `*.pem` files are keys. */
  trustedKeys: readonly string[];
  minVersion: string;
  /** BPF target architecture the manifest must name. */
  arch: string;
}

let configured: Partial<ObjectTrustPolicy> = {};

function ownVersion(): string {
  try {
    return (JSON.parse(readFileSync(resolve(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The policy in force: environment over configuration over defaults. */
export function objectTrustPolicy(env: NodeJS.ProcessEnv = process.env): ObjectTrustPolicy {
  const v = env['MAXPRO_BPF_VERIFY'];
  const keys = env['MAXPRO_TRUSTED_KEYS'];
  const min = env['MAXPRO_BPF_MIN_VERSION'];
  if (min !== undefined && !isVersion(min)) throw new InvalidArgumentError(`MAXPRO_BPF_MIN_VERSION=${min} is not a version (x.y.z)`);
  if (v !== undefined && !['on', 'off', '1', '0', 'true', 'false'].includes(v)) throw new InvalidArgumentError(`MAXPRO_BPF_VERIFY=${v}: use on or off`);
  return {
    verify: v !== undefined ? ['on', '1', 'true'].includes(v) : configured.verify ?? true,
    trustedKeys: keys ? keys.split(':').filter(Boolean) : configured.trustedKeys ?? defaultTrustRoots(),
    minVersion: min ?? configured.minVersion ?? ownVersion(),
    arch: configured.arch ?? bpfArch(),
  };
}

/** Sets the agent's configured policy (the environment still wins). Returns the previous one. */
export function configureObjectTrust(policy: Partial<ObjectTrustPolicy>): Partial<ObjectTrustPolicy> {
  if (policy.minVersion !== undefined && !isVersion(policy.minVersion)) throw new InvalidArgumentError(`minimum object version ${policy.minVersion} is not x.y.z`);
  const prev = configured;
  configured = { ...policy };
  return prev;
}

export interface TrustedKeySet {
  keys: TrustedKey[];
  /** Files that were skipped, and why (an unreadable or non-P-256 key does not stop the others). */
  skipped: { source: string; reason: string }[];
}

const MAX_KEY_BYTES = 16 << 10;

function readKey(path: string, out: TrustedKeySet): void {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_KEY_BYTES) throw new SigningKeyError(`${path}: not a key file`);
    // A key anyone may rewrite is no trust root.
    if ((st.mode & 0o002) !== 0) throw new SigningKeyError(`${path}: writable by others`);
    const key = parsePublicKey(readFileSync(path, 'utf8'), path);
    const id = keyIdOf(key);
    if (!out.keys.some((k) => k.id === id)) out.keys.push({ id, key, source: path });
  } catch (err) {
    out.skipped.push({ source: path, reason: err instanceof Error ? err.message : String(err) });
  }
}

/** Reads the trusted public keys the policy names (missing directories hold none). */
export function loadTrustedKeys(paths: readonly string[]): TrustedKeySet {
  const out: TrustedKeySet = { keys: [], skipped: [] };
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      out.skipped.push({ source: p, reason: 'does not exist' });
      continue;
    }
    if (!isDir) {
      readKey(p, out);
      continue;
    }
    // A Secret mounted as a volume shows `..data` links and dot-dirs: read only plain key names.
    for (const name of readdirSync(p).sort()) if (/^[^.].*\.(pub|pem)$/.test(name)) readKey(join(p, name), out);
  }
  return out;
}
