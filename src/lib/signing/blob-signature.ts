// SPDX-License-Identifier: Apache-2.0
/**
 * Blob signatures as `cosign sign-blob --key` makes them: ECDSA P-256 over
 * SHA-256 of the blob, DER-encoded; written as base64 (`<blob>.sig`) and as a
 * sigstore bundle v0.3 with a public-key hint and no transparency-log entry
 * (`<blob>.sigstore.json`). Either form verifies with `cosign verify-blob
 * --key cosign.pub --insecure-ignore-tlog`.
 */
import { createHash, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { keyIdOf } from './cosign-keys.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: { publicKey: { hint: string }; tlogEntries: unknown[]; timestampVerificationData: { rfc3161Timestamps: unknown[] } };
  messageSignature: { messageDigest: { algorithm: 'SHA2_256'; digest: string }; signature: string };
}

export interface BlobSignature {
  /** DER ECDSA signature. */
  signature: Buffer;
  bundle: SigstoreBundle;
}

export const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

export function signBlob(bytes: Uint8Array, key: KeyObject): BlobSignature {
  const signature = sign('sha256', bytes, key); // DER (ieee-p1363 is not what cosign writes)
  return {
    signature,
    bundle: {
      mediaType: BUNDLE_MEDIA_TYPE,
      verificationMaterial: { publicKey: { hint: keyIdOf(key) }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: sha256(bytes).toString('base64') }, signature: signature.toString('base64') },
    },
  };
}

export interface TrustedKey {
  /** cosign's key id: base64(sha256(PKIX DER)). */
  id: string;
  key: KeyObject;
  /** Where it was read from. */
  source: string;
}

/** Why a signature was refused; the `reason` label of the failure counter. */
export type SignatureFault = 'bad_signature' | 'untrusted_key' | 'digest_mismatch' | 'malformed_signature';

export type SignatureCheck = { ok: true; keyId: string } | { ok: false; fault: SignatureFault; detail: string };

function verifyWith(bytes: Uint8Array, sig: Buffer, keys: readonly TrustedKey[]): string | undefined {
  for (const k of keys) {
    try {
      if (verify('sha256', bytes, k.key, sig)) return k.id;
    } catch {
      // a malformed DER signature: not valid under this key
    }
  }
  return undefined;
}

/** Checks a raw `.sig` (base64 DER) over `bytes` against each trusted key. */
export function checkRawSignature(bytes: Uint8Array, sigText: string, keys: readonly TrustedKey[]): SignatureCheck {
  const b64 = sigText.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return { ok: false, fault: 'malformed_signature', detail: 'the signature is not base64' };
  const id = verifyWith(bytes, Buffer.from(b64, 'base64'), keys);
  return id ? { ok: true, keyId: id } : { ok: false, fault: 'bad_signature', detail: `the signature does not verify under any of the ${keys.length} trusted key(s)` };
}

/**
 * Checks a bundle over `bytes`: v0.3 media type, a SHA2_256 digest equal to
 * the bytes' own, and a signature by a trusted key (the one its hint names,
 * when it names one).
 */
export function checkBundle(bytes: Uint8Array, json: string, keys: readonly TrustedKey[], digest: Buffer = sha256(bytes)): SignatureCheck {
  let b: Partial<SigstoreBundle>;
  try {
    b = JSON.parse(json) as Partial<SigstoreBundle>;
  } catch {
    return { ok: false, fault: 'malformed_signature', detail: 'the bundle is not JSON' };
  }
  if (b.mediaType !== BUNDLE_MEDIA_TYPE) return { ok: false, fault: 'malformed_signature', detail: `bundle media type ${JSON.stringify(b.mediaType)} is not ${BUNDLE_MEDIA_TYPE}` };
  const ms = b.messageSignature;
  if (!ms || ms.messageDigest?.algorithm !== 'SHA2_256' || typeof ms.messageDigest.digest !== 'string' || typeof ms.signature !== 'string') {
    return { ok: false, fault: 'malformed_signature', detail: 'the bundle has no SHA2_256 message signature' };
  }
  if (ms.messageDigest.digest !== digest.toString('base64')) {
    return { ok: false, fault: 'digest_mismatch', detail: 'the bundle was made for other bytes (its digest differs)' };
  }
  const hint = b.verificationMaterial?.publicKey?.hint;
  const candidates = hint ? keys.filter((k) => k.id === hint) : keys;
  if (hint && candidates.length === 0) return { ok: false, fault: 'untrusted_key', detail: `the bundle names key ${hint}, which is not trusted` };
  const id = verifyWith(bytes, Buffer.from(ms.signature, 'base64'), candidates);
  return id ? { ok: true, keyId: id } : { ok: false, fault: 'bad_signature', detail: `the bundle's signature does not verify under ${hint ? `key ${hint}` : `any of the ${keys.length} trusted key(s)`}` };
}
