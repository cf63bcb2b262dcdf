// SPDX-License-Identifier: Apache-2.0
// Signed objects are verified before anything parses them: signatures by MaxPro pass the real
// cosign, cosign's pass the agent's verifier, and every tampering is refused with a counted reason.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bpfObjectPath, configureObjectTrust, objectTrustPolicy, openObjectFile, verificationFailures, ObjectVerificationError,
} from '../../../src/ebpf/index.js';
import type { ObjectTrustPolicy } from '../../../src/ebpf/index.js';
import { bpfArch, formatManifest, parseManifest } from '../../../src/lib/signing/object-manifest.js';
import { keyIdOf, parsePrivateKey, parsePublicKey } from '../../../src/lib/signing/cosign-keys.js';
import { signFile } from '../../../src/lib/signing/sign-object-dir.js';
import { k8sToolPath, k8sToolsSkip } from '../../helpers/k8s-tools.js';
import { makeKey, signedDir, tempDir } from '../../helpers/signed-objects.js';

const arch = bpfArch();
const VERSION = '0.5.0';
const genuine = { tcp: bpfObjectPath('tcp'), process: bpfObjectPath('process') };

function trust(t: { after(fn: () => void): void }, policy: Partial<ObjectTrustPolicy>): void {
  const prev = configureObjectTrust({ minVersion: VERSION, ...policy });
  t.after(() => configureObjectTrust(prev));
}

const failures = (object: string, reason: string): number =>
  verificationFailures().find((f) => f.object === object && f.reason === reason)?.count ?? 0;

/** Opens, asserting success; returns the spec's program names. */
function accepted(path: string): string[] {
  const spec = openObjectFile(path);
  try {
    return spec.programs.map((p) => p.name);
  } finally {
    spec.close();
  }
}

const cosignSkip = k8sToolsSkip('cosign');
function cosign(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync(k8sToolPath('cosign'), args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('BPF object verification', () => {
  test('the environment cannot silently disable it by default', () => {
    if (process.env['MAXPRO_BPF_VERIFY'] === undefined) assert.equal(objectTrustPolicy().verify, true);
    assert.throws(() => objectTrustPolicy({ MAXPRO_BPF_VERIFY: 'maybe' }), /use on or off/);
    assert.equal(objectTrustPolicy({ MAXPRO_BPF_VERIFY: 'off' }).verify, false);
  });

  test('a MaxPro-signed directory is accepted; its key id is cosign\'s hint', (t) => {
    const dir = tempDir(t);
    const k = makeKey(join(dir, 'keys'), 'k');
    trust(t, { trustedKeys: [join(dir, 'keys')] });
    signedDir(join(dir, 'o'), genuine, k.privateKey, { version: VERSION, arch });
    assert.ok(accepted(join(dir, 'o/tcp.bpf.o')).length > 0);
    const bundle = JSON.parse(readFileSync(join(dir, 'o/tcp.bpf.o.sigstore.json'), 'utf8')) as { verificationMaterial: { publicKey: { hint: string } } };
    assert.equal(bundle.verificationMaterial.publicKey.hint, k.keyId);
  });

  test('refusals: each tampering is refused, before parsing, with a counted reason', (t) => {
    const dir = tempDir(t);
    const k = makeKey(join(dir, 'keys'), 'k');
    const other = makeKey(join(dir, 'untrusted'), 'other');
    trust(t, { trustedKeys: [join(dir, 'keys')] });
    let n = 0;
    /** A fresh signed copy of the genuine objects, then `mutate` applied to it. */
    const fresh = (mutate: (d: string) => void, key = k.privateKey, version = VERSION): string => {
      const d = signedDir(join(dir, `case${n++}`), genuine, key, { version, arch });
      mutate(d);
      return join(d, 'tcp.bpf.o');
    };
    const flip = (p: string): void => {
      const b = readFileSync(p);
      const i = b.length >> 1;
      b.writeUInt8(b.readUInt8(i) ^ 0x01, i);
      writeFileSync(p, b);
    };
    const relist = (d: string, edit: (m: ReturnType<typeof parseManifest> & object) => void): void => {
      const m = parseManifest(readFileSync(join(d, 'manifest.json'), 'utf8'));
      assert.ok(typeof m !== 'string');
      edit(m);
      writeFileSync(join(d, 'manifest.json'), formatManifest(m.objects));
      signFile(join(d, 'manifest.json'), k.privateKey); // validly signed: only its content is wrong
    };
    const cases: [string, () => string, string][] = [
      ['flipped byte (bundle)', () => fresh((d) => flip(join(d, 'tcp.bpf.o'))), 'digest_mismatch'],
      ['flipped byte (raw .sig)', () => fresh((d) => { flip(join(d, 'tcp.bpf.o')); rmSync(join(d, 'tcp.bpf.o.sigstore.json')); }), 'bad_signature'],
      ['flipped signature byte', () => fresh((d) => {
        const p = join(d, 'tcp.bpf.o.sigstore.json');
        const b = JSON.parse(readFileSync(p, 'utf8')) as { messageSignature: { signature: string } };
        const s = Buffer.from(b.messageSignature.signature, 'base64');
        s.writeUInt8(s.readUInt8(s.length - 3) ^ 0x01, s.length - 3);
        b.messageSignature.signature = s.toString('base64');
        writeFileSync(p, JSON.stringify(b));
      }), 'bad_signature'],
      ['wrong key (bundle)', () => fresh(() => undefined, other.privateKey), 'untrusted_key'],
      ['wrong key (raw .sig)', () => fresh((d) => rmSync(join(d, 'tcp.bpf.o.sigstore.json')), other.privateKey), 'bad_signature'],
      ['swapped bundle', () => fresh((d) => copyFileSync(join(d, 'process.bpf.o.sigstore.json'), join(d, 'tcp.bpf.o.sigstore.json'))), 'digest_mismatch'],
      ['unsigned', () => fresh((d) => { rmSync(join(d, 'tcp.bpf.o.sigstore.json')); rmSync(join(d, 'tcp.bpf.o.sig')); }), 'unsigned'],
      ['manifest naming another object', () => fresh((d) => relist(d, (m) => { m.objects = m.objects.filter((e) => e.name !== 'tcp'); })), 'not_in_manifest'],
      ['object swapped with its signature', () => fresh((d) => {
        for (const s of ['', '.sig', '.sigstore.json']) copyFileSync(join(d, `process.bpf.o${s}`), join(d, `tcp.bpf.o${s}`));
      }), 'manifest_mismatch'],
      ['manifest signed by an untrusted key', () => fresh((d) => signFile(join(d, 'manifest.json'), other.privateKey)), 'manifest_untrusted_key'],
      ['manifest edited after signing', () => fresh((d) => appendFileSync(join(d, 'manifest.json'), ' ')), 'manifest_digest_mismatch'],
      ['manifest missing', () => fresh((d) => rmSync(join(d, 'manifest.json'))), 'manifest_missing'],
      ['older version than allowed', () => fresh(() => undefined, k.privateKey, '0.4.9'), 'version_rollback'],
      ['other architecture', () => fresh((d) => relist(d, (m) => { for (const e of m.objects) e.arch = arch === 'x86' ? 'arm64' : 'x86'; })), 'arch_mismatch'],
      ['writable by others', () => fresh((d) => chmodSync(join(d, 'tcp.bpf.o'), 0o666)), 'unsafe_permissions'],
      ['a symbolic link', () => fresh((d) => { rmSync(join(d, 'tcp.bpf.o')); symlinkSync(genuine.tcp, join(d, 'tcp.bpf.o')); }), 'symlink'],
      ['junk ELF, unsigned: refused before libbpf parses it', () => fresh((d) => {
        writeFileSync(join(d, 'tcp.bpf.o'), Buffer.from('\x7fELF not really'), { mode: 0o644 });
        rmSync(join(d, 'tcp.bpf.o.sigstore.json')); rmSync(join(d, 'tcp.bpf.o.sig'));
      }), 'unsigned'],
    ];
    for (const [name, make, reason] of cases) {
      const path = make();
      const before = failures('tcp', reason);
      assert.throws(() => openObjectFile(path), (e: unknown) => {
        assert.ok(e instanceof ObjectVerificationError, `${name}: ${String(e)}`);
        assert.equal(e.code, 'MAXPRO_ERR_EBPF_OBJECT_UNTRUSTED');
        assert.equal(e.reason, reason, `${name}: ${e.message}`);
        assert.match(e.message, /^BPF object tcp refused \(/);
        return true;
      }, name);
      assert.equal(failures('tcp', reason), before + 1, `${name}: counted under ${reason}`);
    }
  });

  test('trust root: several keys for rotation, bad key files skipped, none at all refused', (t) => {
    const dir = tempDir(t);
    const old = makeKey(join(dir, 'keys'), 'old');
    const next = makeKey(join(dir, 'keys'), 'next');
    writeFileSync(join(dir, 'keys/junk.pub'), 'not a key', { mode: 0o644 });
    signedDir(join(dir, 'a'), genuine, old.privateKey, { version: VERSION, arch });
    signedDir(join(dir, 'b'), genuine, next.privateKey, { version: VERSION, arch });
    trust(t, { trustedKeys: [join(dir, 'keys')] });
    accepted(join(dir, 'a/tcp.bpf.o'));
    accepted(join(dir, 'b/tcp.bpf.o'));
    // A Secret mounted as files: the key files themselves, listed one by one.
    configureObjectTrust({ minVersion: VERSION, trustedKeys: [next.pubPath] });
    accepted(join(dir, 'b/tcp.bpf.o'));
    assert.throws(() => openObjectFile(join(dir, 'a/tcp.bpf.o')), { reason: 'untrusted_key' });
    configureObjectTrust({ minVersion: VERSION, trustedKeys: [join(dir, 'nowhere')] });
    assert.throws(() => openObjectFile(join(dir, 'a/tcp.bpf.o')), { reason: 'no_trusted_keys' });
    // A world-writable key file is no trust root.
    chmodSync(next.pubPath, 0o666);
    configureObjectTrust({ minVersion: VERSION, trustedKeys: [next.pubPath] });
    assert.throws(() => openObjectFile(join(dir, 'b/tcp.bpf.o')), (e: unknown) => e instanceof ObjectVerificationError && e.reason === 'no_trusted_keys' && /writable by others/.test(e.message));
  });

  test('verification off: unsigned objects open, and the attestation says unverified', (t) => {
    const dir = tempDir(t);
    const prev = process.env['MAXPRO_BPF_VERIFY'];
    process.env['MAXPRO_BPF_VERIFY'] = 'off';
    t.after(() => (prev === undefined ? delete process.env['MAXPRO_BPF_VERIFY'] : (process.env['MAXPRO_BPF_VERIFY'] = prev)));
    copyFileSync(genuine.tcp, join(dir, 'tcp.bpf.o'));
    chmodSync(join(dir, 'tcp.bpf.o'), 0o644);
    assert.ok(accepted(join(dir, 'tcp.bpf.o')).length > 0);
  });

  describe('cross-verification with cosign', { skip: cosignSkip }, () => {
    test('MaxPro\'s signatures pass cosign verify-blob (bundle and raw signature, offline)', (t) => {
      const dir = tempDir(t);
      const k = makeKey(join(dir, 'keys'), 'cosign');
      const d = signedDir(join(dir, 'o'), genuine, k.privateKey, { version: VERSION, arch });
      for (const f of ['tcp.bpf.o', 'process.bpf.o', 'manifest.json']) {
        const bundle = cosign(['verify-blob', '--key', k.pubPath, '--insecure-ignore-tlog', '--bundle', `${f}.sigstore.json`, f], d);
        assert.equal(bundle.status, 0, `${f} bundle: ${bundle.out}`);
        assert.match(bundle.out, /Verified OK/);
        const raw = cosign(['verify-blob', '--key', k.pubPath, '--insecure-ignore-tlog', '--signature', `${f}.sig`, '--new-bundle-format=false', f], d);
        assert.equal(raw.status, 0, `${f} raw: ${raw.out}`);
      }
      // cosign refuses them too when they are wrong: a negative control for the check above.
      const wrong = makeKey(join(dir, 'keys2'), 'wrong');
      const r = cosign(['verify-blob', '--key', wrong.pubPath, '--insecure-ignore-tlog', '--bundle', 'tcp.bpf.o.sigstore.json', 'tcp.bpf.o'], d);
      assert.notEqual(r.status, 0);
      const swapped = cosign(['verify-blob', '--key', k.pubPath, '--insecure-ignore-tlog', '--bundle', 'process.bpf.o.sigstore.json', 'tcp.bpf.o'], d);
      assert.notEqual(swapped.status, 0);
    });

    test('scripts/sign-bpf.mjs with cosign\'s encrypted key as the release key: cosign verifies, the agent accepts', (t) => {
      const dir = tempDir(t);
      const env = { COSIGN_PASSWORD: 'release pw' };
      assert.equal(cosign(['generate-key-pair'], dir, env).status, 0);
      chmodSync(join(dir, 'cosign.pub'), 0o644);
      const d = signedDir(join(dir, 'o'), genuine, makeKey(join(dir, 'throwaway'), 'x').privateKey, { version: VERSION, arch });
      const run = (extra: NodeJS.ProcessEnv): ReturnType<typeof spawnSync> => spawnSync(process.execPath,
        [fileURLToPath(new URL('../../../../scripts/sign-bpf.mjs', import.meta.url)), '--dir', d, '--version', VERSION],
        { encoding: 'utf8', env: { ...process.env, MAXPRO_SIGNING_KEY: join(dir, 'cosign.key'), ...extra } });
      const wrong = run({ COSIGN_PASSWORD: 'not it' });
      assert.notEqual(wrong.status, 0);
      assert.match(String(wrong.stderr), /wrong password/);
      const ok = run(env);
      assert.equal(ok.status, 0, String(ok.stderr));
      assert.match(String(ok.stderr), /by the release key/);
      for (const f of ['tcp.bpf.o', 'manifest.json']) {
        const v = cosign(['verify-blob', '--key', join(dir, 'cosign.pub'), '--insecure-ignore-tlog', '--bundle', `${f}.sigstore.json`, f], d);
        assert.equal(v.status, 0, v.out);
      }
      trust(t, { trustedKeys: [join(dir, 'cosign.pub')] });
      assert.ok(accepted(join(d, 'tcp.bpf.o')).length > 0);
    });

    test('objects and a manifest signed by cosign (generate-key-pair, sign-blob) are accepted', (t) => {
      const dir = tempDir(t);
      const env = { COSIGN_PASSWORD: 'correct horse' };
      const gen = cosign(['generate-key-pair'], dir, env);
      assert.equal(gen.status, 0, gen.out);
      chmodSync(join(dir, 'cosign.pub'), 0o644);
      // The same key pair read by MaxPro: the encrypted key decrypts, and its id is cosign's hint.
      const priv = parsePrivateKey(readFileSync(join(dir, 'cosign.key'), 'utf8'), 'cosign.key', env.COSIGN_PASSWORD);
      const pubId = keyIdOf(parsePublicKey(readFileSync(join(dir, 'cosign.pub'), 'utf8'), 'cosign.pub'));
      assert.equal(keyIdOf(priv), pubId);
      assert.throws(() => parsePrivateKey(readFileSync(join(dir, 'cosign.key'), 'utf8'), 'cosign.key', 'wrong'), /wrong password/);
      trust(t, { trustedKeys: [join(dir, 'cosign.pub')] });

      for (const mode of ['bundle', 'raw'] as const) {
        // Objects and manifest laid out by MaxPro's tools, then every signature replaced by cosign's.
        const d = signedDir(join(dir, mode), genuine, priv, { version: VERSION, arch });
        for (const f of ['tcp.bpf.o', 'process.bpf.o', 'manifest.json']) {
          rmSync(join(d, `${f}.sig`));
          rmSync(join(d, `${f}.sigstore.json`));
          const flags = mode === 'bundle' ? ['--bundle', `${f}.sigstore.json`] : ['--new-bundle-format=false', '--output-signature', `${f}.sig`];
          const s = cosign(['sign-blob', '--key', join(dir, 'cosign.key'), '--use-signing-config=false', '--tlog-upload=false', '-y', ...flags, f], d, env);
          assert.equal(s.status, 0, `sign-blob ${f}: ${s.out}`);
          for (const x of ['.sig', '.sigstore.json']) try { chmodSync(join(d, `${f}${x}`), 0o644); } catch { /* the other form */ }
        }
        if (mode === 'bundle') {
          const b = JSON.parse(readFileSync(join(d, 'tcp.bpf.o.sigstore.json'), 'utf8')) as { verificationMaterial: { publicKey: { hint: string } } };
          assert.equal(b.verificationMaterial.publicKey.hint, pubId);
        }
        assert.ok(accepted(join(d, 'tcp.bpf.o')).length > 0, mode);
        // And refused under another key.
        configureObjectTrust({ minVersion: VERSION, trustedKeys: [makeKey(join(dir, `k-${mode}`), 'x').pubPath] });
        assert.throws(() => openObjectFile(join(d, 'tcp.bpf.o')), { reason: mode === 'bundle' ? 'untrusted_key' : 'bad_signature' });
        configureObjectTrust({ minVersion: VERSION, trustedKeys: [join(dir, 'cosign.pub')] });
      }
    });
  });
});
