// SPDX-License-Identifier: Apache-2.0
/**
 * Key files in cosign's formats: `cosign.pub` (PEM `PUBLIC KEY`, PKIX) and
 * `cosign.key`, either cosign's encrypted form (PEM `ENCRYPTED SIGSTORE
 * PRIVATE KEY`: scrypt + NaCl secretbox over PKCS#8, the password from
 * `COSIGN_PASSWORD`) or a plain PKCS#8 / SEC1 PEM for development. Only
 * ECDSA P-256 is accepted: one algorithm, no confusion between them.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, scryptSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { SigningKeyError } from '../errors.js';

const ENCRYPTED_LABELS = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];
/** scrypt N values cosign's decrypter accepts (legacy, standard, OWASP). */
const SCRYPT_N = new Set([32768, 65536, 131072]);

interface SecretBox {
  secretbox: { (m: Uint8Array, n: Uint8Array, k: Uint8Array): Uint8Array; open(c: Uint8Array, n: Uint8Array, k: Uint8Array): Uint8Array | null };
}
// Loaded only for encrypted keys: verification never needs it.
const nacl = (): SecretBox => createRequire(import.meta.url)('tweetnacl') as SecretBox;

/** cosign's key id ("hint"): base64(sha256(PKIX DER)). */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64');
}

function requireP256(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SigningKeyError(`${what}: not an ECDSA P-256 key (${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}); only ECDSA P-256 with SHA-256 is accepted`);
  }
  return key;
}

/** Parses a PEM public key (`cosign.pub`). `what` names it in errors. */
export function parsePublicKey(pem: string, what: string): KeyObject {
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) throw new SigningKeyError(`${what}: no PEM PUBLIC KEY block`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new SigningKeyError(`${what}: unreadable public key: ${(err as Error).message}`, { cause: err });
  }
  return requireP256(key, what);
}

function pemBlock(pem: string): { label: string; body: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  return m ? { label: m[1]!, body: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') } : undefined;
}

/**
 * Parses a private key file: cosign's encrypted form (needs `password`) or a
 * plain PEM. Throws `SigningKeyError` naming `what` on a wrong password or format.
 */
export function parsePrivateKey(pem: string, what: string, password?: string): KeyObject {
  const block = pemBlock(pem);
  if (!block) throw new SigningKeyError(`${what}: no PEM block`);
  if (ENCRYPTED_LABELS.includes(block.label)) {
    if (password === undefined) throw new SigningKeyError(`${what}: an encrypted cosign key needs its password (COSIGN_PASSWORD)`);
    const der = decryptCosignKey(block.body, password, what);
    return requireP256(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), what);
  }
  try {
    return requireP256(createPrivateKey({ key: pem, format: 'pem' }), what);
  } catch (err) {
    if (err instanceof SigningKeyError) throw err;
    throw new SigningKeyError(`${what}: unreadable private key (${block.label}): ${(err as Error).message}`, { cause: err });
  }
}

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function decryptCosignKey(body: Buffer, password: string, what: string): Buffer {
  let enc: EncryptedKey;
  try {
    enc = JSON.parse(body.toString('utf8')) as EncryptedKey;
  } catch (err) {
    throw new SigningKeyError(`${what}: the encrypted key is not cosign's JSON envelope`, { cause: err });
  }
  const { N, r, p } = enc.kdf?.params ?? {};
  if (enc.kdf?.name !== 'scrypt' || enc.cipher?.name !== 'nacl/secretbox' || !SCRYPT_N.has(N) || r !== 8 || p !== 1) {
    throw new SigningKeyError(`${what}: unsupported key encryption (kdf ${enc.kdf?.name} N=${N} r=${r} p=${p}, cipher ${enc.cipher?.name})`);
  }
  const key = scryptSync(password, Buffer.from(enc.kdf.salt, 'base64'), 32, { N, r, p, maxmem: 256 * N * r });
  const plain = nacl().secretbox.open(Buffer.from(enc.ciphertext, 'base64'), Buffer.from(enc.cipher.nonce, 'base64'), key);
  if (!plain) throw new SigningKeyError(`${what}: wrong password (COSIGN_PASSWORD) or a corrupted key`);
  return Buffer.from(plain);
}

/** Writes a private key in cosign's encrypted form (scrypt N=65536, as `cosign generate-key-pair`). */
export function encryptCosignKey(key: KeyObject, password: string): string {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(32), nonce = randomBytes(24);
  const params = { N: 65536, r: 8, p: 1 };
  const k = scryptSync(password, salt, 32, { ...params, maxmem: 256 * params.N * params.r });
  const ciphertext = nacl().secretbox(der, nonce, k);
  const json = JSON.stringify({
    kdf: { name: 'scrypt', params, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
  const b64 = Buffer.from(json).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
}
