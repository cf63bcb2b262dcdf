// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a BPF object once and verifies those bytes before anything parses
 * them. The file is opened with O_NOFOLLOW and checked by `fstat` (a regular
 * file of root or this user, writable by nobody else); its bytes are read
 * into memory from that descriptor, and the caller loads that buffer
 * (`bpf_object__open_mem`), never the path again, so swapping the file after
 * the check changes nothing. The signature and the manifest are small
 * sidecars read the same way; their contents are JSON or base64, checked
 * cryptographically before the manifest's fields are believed.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NotFoundError, ObjectVerificationError } from '../lib/errors.js';
import { checkBundle, checkRawSignature, sha256 } from '../lib/signing/blob-signature.js';
import type { SignatureCheck, TrustedKey } from '../lib/signing/blob-signature.js';
import { compareVersions, MANIFEST_FILE, parseManifest } from '../lib/signing/object-manifest.js';
import { recordRefusal } from './object-attestation.js';
import type { ObjectAttestation } from './object-attestation.js';
import { loadTrustedKeys, objectTrustPolicy } from './object-trust.js';
import type { ObjectTrustPolicy } from './object-trust.js';

const MAX_OBJECT_BYTES = 64 << 20;
const MAX_SIDECAR_BYTES = 1 << 20;

export interface VerifiedObject {
  bytes: Buffer;
  attestation: ObjectAttestation;
}

export interface VerifyOptions {
  /** The name the manifest must give it (default: the file name without `.bpf.o`). */
  expect?: string;
  policy?: ObjectTrustPolicy;
  /** Runs after the bytes are verified, before they are parsed (tests race the file here). */
  afterVerify?: (path: string) => void;
}

class Refusal extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** Opens, checks and reads one file; undefined when it does not exist and `optional`. */
function readOnce(path: string, max: number, optional: boolean): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return undefined;
    if (code === 'ENOENT') throw new NotFoundError(`${path} not found: run \`npm run build\``);
    if (code === 'ELOOP') throw new Refusal('symlink', `${path} is a symbolic link`);
    throw new Refusal('unreadable', `${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Refusal('not_regular_file', `${path} is not a regular file`);
    const uid = process.getuid?.() ?? 0;
    if (st.uid !== 0 && st.uid !== uid) throw new Refusal('unsafe_permissions', `${path} is owned by uid ${st.uid}, neither root nor this process`);
    if ((st.mode & 0o022) !== 0) throw new Refusal('unsafe_permissions', `${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
    if (st.size > max) throw new Refusal('too_large', `${path} is ${st.size} bytes, over the ${max} allowed`);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) throw new Refusal('unreadable', `${path} shrank while being read`);
      off += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** The signature beside a blob: its bundle, else its raw `.sig`. */
function checkSignature(blobPath: string, bytes: Buffer, digest: Buffer, keys: readonly TrustedKey[], prefix: string, missing: string): string {
  let check: SignatureCheck;
  const bundle = readOnce(`${blobPath}.sigstore.json`, MAX_SIDECAR_BYTES, true);
  if (bundle) check = checkBundle(bytes, bundle.toString('utf8'), keys, digest);
  else {
    const sig = readOnce(`${blobPath}.sig`, MAX_SIDECAR_BYTES, true);
    if (!sig) throw new Refusal(missing, `no ${basename(blobPath)}.sigstore.json or ${basename(blobPath)}.sig beside it`);
    check = checkRawSignature(bytes, sig.toString('utf8'), keys);
  }
  if (!check.ok) throw new Refusal(`${prefix}${check.fault}`, `${basename(blobPath)}: ${check.detail}`);
  return check.keyId;
}

function verify(path: string, bytes: Buffer, digest: Buffer, expect: string, policy: ObjectTrustPolicy): Pick<ObjectAttestation, 'keyId' | 'manifestKeyId' | 'version' | 'arch'> {
  const { keys, skipped } = loadTrustedKeys(policy.trustedKeys);
  if (keys.length === 0) {
    throw new Refusal('no_trusted_keys', `no trusted public key in ${policy.trustedKeys.join(', ')}${skipped.length ? ` (${skipped.map((s) => `${s.source}: ${s.reason}`).join('; ')})` : ''}: run \`npm run build\` or mount the keys`);
  }
  const keyId = checkSignature(path, bytes, digest, keys, '', 'unsigned');
  const manifestPath = join(dirname(path), MANIFEST_FILE);
  const manifestBytes = readOnce(manifestPath, MAX_SIDECAR_BYTES, true);
  if (!manifestBytes) throw new Refusal('manifest_missing', `no ${manifestPath}`);
  const manifestKeyId = checkSignature(manifestPath, manifestBytes, sha256(manifestBytes), keys, 'manifest_', 'manifest_unsigned');
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  if (typeof manifest === 'string') throw new Refusal('manifest_invalid', `${manifestPath}: ${manifest}`);
  const entry = manifest.objects.find((e) => e.name === expect);
  if (!entry) throw new Refusal('not_in_manifest', `${manifestPath} names no object ${expect} (it names ${manifest.objects.map((e) => e.name).join(', ') || 'none'})`);
  if (entry.file !== basename(path)) throw new Refusal('not_in_manifest', `${manifestPath} gives object ${expect} as ${entry.file}, not ${basename(path)}`);
  const hex = digest.toString('hex');
  if (entry.sha256 !== hex) throw new Refusal('manifest_mismatch', `sha256 ${hex} is not the ${entry.sha256} the manifest gives ${expect}`);
  if (entry.arch !== policy.arch) throw new Refusal('arch_mismatch', `built for ${entry.arch}, this host runs ${policy.arch}`);
  if (compareVersions(entry.version, policy.minVersion) < 0) {
    throw new Refusal('version_rollback', `version ${entry.version} is older than the minimum ${policy.minVersion}`);
  }
  return { keyId, manifestKeyId, version: entry.version, arch: entry.arch };
}

let warnedOff = false;

/**
 * Reads and verifies a BPF object. Throws `ObjectVerificationError` (counted
 * by reason) for anything short of a verified object; `NotFoundError` when
 * the file does not exist.
 */
export function readVerifiedObject(path: string, options: VerifyOptions = {}): VerifiedObject {
  const expect = options.expect ?? basename(path).replace(/\.bpf\.o$|\.o$/, '');
  const t0 = performance.now();
  try {
    const policy = options.policy ?? objectTrustPolicy();
    const bytes = readOnce(path, MAX_OBJECT_BYTES, false)!;
    const digest = sha256(bytes);
    const base = { object: expect, path, sha256: digest.toString('hex'), size: bytes.length, verifiedAtMs: Date.now() };
    let attestation: ObjectAttestation;
    if (!policy.verify) {
      if (!warnedOff) {
        warnedOff = true;
        process.emitWarning('BPF object signature verification is OFF (MAXPRO_BPF_VERIFY=off): unsigned objects load', { code: 'MAXPRO_BPF_UNVERIFIED' });
      }
      attestation = { ...base, keyId: null, manifestKeyId: null, version: null, arch: null, verified: false, verifyMicros: 0 };
    } else {
      attestation = { ...base, ...verify(path, bytes, digest, expect, policy), verified: true, verifyMicros: 0 };
    }
    attestation.verifyMicros = Math.round((performance.now() - t0) * 1000);
    options.afterVerify?.(path);
    return { bytes, attestation };
  } catch (err) {
    if (err instanceof Refusal) {
      recordRefusal(expect, err.reason, err.message);
      throw new ObjectVerificationError(expect, err.reason, err.message);
    }
    throw err;
  }
}
