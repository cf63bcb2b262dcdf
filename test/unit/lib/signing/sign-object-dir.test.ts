// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBundle, checkRawSignature, sha256 } from '../../../../src/lib/signing/blob-signature.js';
import { encryptCosignKey, keyIdOf, parsePrivateKey, parsePublicKey } from '../../../../src/lib/signing/cosign-keys.js';
import { compareVersions, parseManifest } from '../../../../src/lib/signing/object-manifest.js';
import { signObjectDir } from '../../../../src/lib/signing/sign-object-dir.js';
import { SigningKeyError } from '../../../../src/lib/errors.js';

const ec = (curve = 'prime256v1') => generateKeyPairSync('ec', { namedCurve: curve });
const trusted = (k: ReturnType<typeof ec>) => [{ id: keyIdOf(k.publicKey), key: k.publicKey, source: 'test' }];

describe('sign-object-dir', () => {
  test('signs every object and a manifest binding name, version, arch and digest', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-sign-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'a.bpf.o'), 'object a');
    writeFileSync(join(dir, 'b.bpf.o'), 'object b');
    writeFileSync(join(dir, 'notes.txt'), 'not an object');
    const k = ec();
    const entries = signObjectDir({ dir, arch: 'arm64', version: '1.2.3', key: k.privateKey });
    assert.deepEqual(entries.map((e) => e.name), ['a', 'b']);
    const manifestText = readFileSync(join(dir, 'manifest.json'), 'utf8');
    const m = parseManifest(manifestText);
    assert.ok(typeof m !== 'string', String(m));
    assert.deepEqual(m.objects[0], { name: 'a', file: 'a.bpf.o', version: '1.2.3', arch: 'arm64', sha256: sha256(Buffer.from('object a')).toString('hex'), size: 8 });
    for (const f of ['a.bpf.o', 'b.bpf.o', 'manifest.json']) {
      const bytes = readFileSync(join(dir, f));
      assert.deepEqual(checkRawSignature(bytes, readFileSync(join(dir, `${f}.sig`), 'utf8'), trusted(k)), { ok: true, keyId: keyIdOf(k.publicKey) });
      assert.deepEqual(checkBundle(bytes, readFileSync(join(dir, `${f}.sigstore.json`), 'utf8'), trusted(k)), { ok: true, keyId: keyIdOf(k.publicKey) });
    }
    const a = readFileSync(join(dir, 'a.bpf.o'));
    const cases: [string, ReturnType<typeof checkBundle>, string][] = [
      ['flipped byte, raw', checkRawSignature(Buffer.from('object A'), readFileSync(join(dir, 'a.bpf.o.sig'), 'utf8'), trusted(k)), 'bad_signature'],
      ['other object\'s bundle', checkBundle(a, readFileSync(join(dir, 'b.bpf.o.sigstore.json'), 'utf8'), trusted(k)), 'digest_mismatch'],
      ['wrong key, bundle', checkBundle(a, readFileSync(join(dir, 'a.bpf.o.sigstore.json'), 'utf8'), trusted(ec())), 'untrusted_key'],
      ['wrong key, raw', checkRawSignature(a, readFileSync(join(dir, 'a.bpf.o.sig'), 'utf8'), trusted(ec())), 'bad_signature'],
      ['not JSON', checkBundle(a, '{', trusted(k)), 'malformed_signature'],
      ['not base64', checkRawSignature(a, '!!', trusted(k)), 'malformed_signature'],
    ];
    for (const [name, got, fault] of cases) assert.deepEqual(got.ok ? 'ok' : got.fault, fault, name);
  });

  test('cosign key formats: encrypted round trip, wrong password, other algorithms refused', () => {
    const k = ec();
    const pem = encryptCosignKey(k.privateKey, 'pw');
    assert.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
    assert.equal(keyIdOf(parsePrivateKey(pem, 'k', 'pw')), keyIdOf(k.publicKey));
    assert.throws(() => parsePrivateKey(pem, 'k', 'wrong'), (e: unknown) => e instanceof SigningKeyError && /wrong password/.test(e.message));
    assert.throws(() => parsePrivateKey(pem, 'k'), /needs its password/);
    const p384 = ec('secp384r1');
    assert.throws(() => parsePublicKey(p384.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'k384'), /not an ECDSA P-256 key/);
    const ed = generateKeyPairSync('ed25519');
    assert.throws(() => parsePrivateKey(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'ed'), /not an ECDSA P-256 key/);
  });

  test('versions compare as semver', () => {
    const cases: [string, string, number][] = [['0.1.0', '0.1.0', 0], ['0.1.0', '0.2.0', -1], ['1.0.0', '0.9.9', 1], ['1.0.0-rc.1', '1.0.0', -1], ['0.10.0', '0.9.0', 1]];
    for (const [a, b, want] of cases) assert.equal(compareVersions(a, b), want, `${a} vs ${b}`);
  });
});
