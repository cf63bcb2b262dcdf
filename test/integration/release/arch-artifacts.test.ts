// SPDX-License-Identifier: Apache-2.0
// The per-architecture build and release artifacts: ELF machine of every native part, the arm64
// objects really built for arm64, their signatures, the tarballs of scripts/package.sh, and the
// arm64 tarball's addon and JavaScript run in Debian's arm64 Node under qemu-user.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ARM64_ADDON, ARM64_OBJECT_DIR, ARM64_PROBES, EM_AARCH64, EM_BPF, EM_X86_64, arm64BtfSkip, arm64BuildSkip, arm64KernelBtf, arm64Versions,
  elfHeader, qemuSkip, repo, runArm64Node,
} from '../../helpers/arm64.js';
import { readBtfStructs } from '../../helpers/btf.js';
import { openObject } from '../../../src/ebpf/index.js';
import { checkBundle, checkRawSignature, sha256 } from '../../../src/lib/signing/blob-signature.js';
import type { TrustedKey } from '../../../src/lib/signing/blob-signature.js';
import { keyIdOf, parsePublicKey } from '../../../src/lib/signing/cosign-keys.js';
import { parseManifest } from '../../../src/lib/signing/object-manifest.js';
import { defaultTrustedKeysDir } from '../../../src/lib/signing/signing-key-store.js';

const skip = arm64BuildSkip();
const hostObjDir = join(repo, 'bpf/.output');
const hostAddon = join(repo, 'native/build/maxpro.node');
const onX64 = process.arch === 'x64';
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

function trustedKeys(): TrustedKey[] {
  const dir = defaultTrustedKeysDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.pub')).map((f) => {
    const key = parsePublicKey(readFileSync(join(dir, f), 'utf8'), join(dir, f));
    return { id: keyIdOf(key), key, source: join(dir, f) };
  });
}

/** Packs one architecture's tarball into a fresh folder and unpacks it; returns the package root. */
function packAndUnpack(arch: string, into: string): { tgz: string; pkg: string } {
  const out = execFileSync('bash', [join(repo, 'scripts/package.sh'), arch], { cwd: repo, encoding: 'utf8', env: { ...process.env, MAXPRO_RELEASE_DIR: into } }).trim();
  assert.equal(out, join(into, `maxpro-${version}-linux-${arch}.tgz`));
  const dest = join(into, arch);
  execFileSync('mkdir', ['-p', dest]);
  execFileSync('tar', ['-xzf', out, '-C', dest]);
  return { tgz: out, pkg: join(dest, 'package') };
}

test('bpf/vmlinux/arm64/vmlinux.h is bpftool\'s dump of the BTF of the Debian kernel its comment names', { skip: arm64BtfSkip() }, () => {
  const v = arm64Versions();
  const header = readFileSync(join(repo, 'bpf/vmlinux/arm64/vmlinux.h'), 'utf8');
  const end = header.indexOf('*/\n') + 3;
  const comment = header.slice(0, end);
  for (const k of ['ARM64_KERNEL_PACKAGE', 'ARM64_KERNEL_VERSION', 'ARM64_KERNEL_BTF_SHA256']) assert.ok(comment.includes(v[k]!), `the comment names ${k}=${v[k]}`);
  const btf = readFileSync(arm64KernelBtf());
  assert.equal(sha256(btf).toString('hex'), v['ARM64_KERNEL_BTF_SHA256'], 'the cached BTF is the pinned one');
  const dump = execFileSync('bpftool', ['btf', 'dump', 'file', arm64KernelBtf(), 'format', 'c'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(header.slice(end) === dump, 'the header below its comment equals the dump');
});

describe('per-architecture build and release artifacts', { skip }, () => {
  test('every native part is an ELF for its machine', () => {
    const rows: { what: string; path: string; machine: number; when?: boolean }[] = [
      { what: 'arm64 addon', path: ARM64_ADDON, machine: EM_AARCH64 },
      { what: 'host addon', path: hostAddon, machine: EM_X86_64, when: onX64 },
      ...ARM64_PROBES.map((p) => ({ what: `arm64 ${p}.bpf.o`, path: join(ARM64_OBJECT_DIR, `${p}.bpf.o`), machine: EM_BPF })),
      ...ARM64_PROBES.map((p) => ({ what: `host ${p}.bpf.o`, path: join(hostObjDir, `${p}.bpf.o`), machine: EM_BPF })),
    ];
    for (const r of rows) {
      if (r.when === false) continue;
      const h = elfHeader(r.path);
      assert.deepEqual(h, { elf: true, class64: true, littleEndian: true, machine: r.machine }, r.what);
    }
  });

  test('the arm64 objects were compiled for arm64: their BTF has arm64 pt_regs, the host objects x86 ones', () => {
    const arm = readBtfStructs(join(ARM64_OBJECT_DIR, 'process.bpf.o'));
    const members = (m: Map<string, { members: { name: string }[] }>, s: string) => m.get(s)?.members.map((x) => x.name) ?? [];
    assert.ok(members(arm, 'pt_regs').includes('syscallno'), 'arm64 pt_regs.syscallno (the syscall number)');
    assert.deepEqual(members(arm, 'pt_regs___arm64'), ['orig_x0'], "libbpf's arm64 flavour for syscall arguments");
    assert.ok(members(arm, 'user_pt_regs').includes('regs'), 'arm64 user_pt_regs.regs[]');
    if (onX64) {
      const x86 = readBtfStructs(join(hostObjDir, 'process.bpf.o'));
      assert.ok(members(x86, 'pt_regs').includes('orig_ax'), 'x86 pt_regs.orig_ax');
      assert.equal(x86.has('user_pt_regs'), false);
    }
  });

  test('the arm64 objects carry signatures and a signed manifest for arm64 by a trusted key', () => {
    const keys = trustedKeys();
    assert.ok(keys.length > 0, `no trusted keys in ${defaultTrustedKeysDir()}: scripts/build.sh installs the development key`);
    const text = readFileSync(join(ARM64_OBJECT_DIR, 'manifest.json'));
    const bundle = checkBundle(text, readFileSync(join(ARM64_OBJECT_DIR, 'manifest.json.sigstore.json'), 'utf8'), keys);
    assert.ok(bundle.ok, `manifest bundle: ${JSON.stringify(bundle)}`);
    const m = parseManifest(text.toString('utf8'));
    assert.ok(typeof m !== 'string', String(m));
    const names = m.objects.map((o) => o.name);
    for (const p of ARM64_PROBES) assert.ok(names.includes(p), `manifest lists ${p} (has ${names.join(', ')})`);
    for (const o of m.objects) {
      const bytes = readFileSync(join(ARM64_OBJECT_DIR, o.file));
      assert.equal(o.arch, 'arm64', o.file);
      assert.equal(o.version, version, o.file);
      assert.equal(o.sha256, sha256(bytes).toString('hex'), o.file);
      const sig = checkRawSignature(bytes, readFileSync(join(ARM64_OBJECT_DIR, `${o.file}.sig`), 'utf8'), keys);
      assert.ok(sig.ok, `${o.file}.sig: ${JSON.stringify(sig)}`);
    }
  });

  test('scripts/package.sh packs one npm tarball per architecture with that architecture\'s native parts', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-release-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const rows = [
      { arch: 'arm64', cpu: 'arm64', machine: EM_AARCH64, objDir: ARM64_OBJECT_DIR, addon: ARM64_ADDON, manifestArch: 'arm64' },
      ...(onX64 ? [{ arch: 'amd64', cpu: 'x64', machine: EM_X86_64, objDir: hostObjDir, addon: hostAddon, manifestArch: 'x86' }] : []),
    ];
    for (const r of rows) {
      const { pkg } = packAndUnpack(r.arch, dir);
      const pj = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { name: string; version: string; cpu: string[]; os: string[]; scripts?: unknown; bin: Record<string, string> };
      assert.deepEqual([pj.name, pj.version, pj.cpu, pj.os], ['maxpro', version, [r.cpu], ['linux']], r.arch);
      assert.equal(pj.scripts, undefined, 'build scripts are not shipped');
      assert.ok(existsSync(join(pkg, pj.bin['maxpro']!)), `${r.arch}: the bin entry exists`);
      assert.ok(existsSync(join(pkg, 'dist/src/cli/main.js')), `${r.arch}: compiled CLI`);
      assert.equal(elfHeader(join(pkg, 'native/build/maxpro.node')).machine, r.machine, `${r.arch} addon machine`);
      assert.ok(readFileSync(join(pkg, 'native/build/maxpro.node')).equals(readFileSync(r.addon)), `${r.arch}: the built addon`);
      for (const p of ARM64_PROBES) {
        for (const suffix of ['', '.sig', '.sigstore.json']) {
          const f = `${p}.bpf.o${suffix}`;
          assert.ok(readFileSync(join(pkg, 'bpf/.output', f)).equals(readFileSync(join(r.objDir, f))), `${r.arch}: ${f} as built`);
        }
      }
      const m = parseManifest(readFileSync(join(pkg, 'bpf/.output/manifest.json'), 'utf8'));
      assert.ok(typeof m !== 'string', String(m));
      assert.ok(m.objects.every((o) => o.arch === r.manifestArch), `${r.arch}: manifest arch`);
    }
  });

  test('in Debian\'s arm64 Node under qemu-user, the tarball\'s addon (arm64 libbpf) opens its BPF objects as the host does', { skip: qemuSkip() }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-release-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { pkg } = packAndUnpack('arm64', dir);
    // The tarball's own layout: its JavaScript finds its addon and objects from its package root.
    const script = `
      import { openObjectFile, libbpfVersion, native, bpfObjectPath } from ${JSON.stringify(join(pkg, 'dist/src/ebpf/index.js'))};
      const objects = {};
      for (const p of ${JSON.stringify(ARM64_PROBES)}) {
        const s = openObjectFile(bpfObjectPath(p));
        objects[p] = { programs: s.programs.map((x) => [x.name, x.type, x.attachType]), maps: s.maps.map((x) => [x.name, x.type, x.keySize, x.valueSize]) };
        s.close();
      }
      console.log(JSON.stringify({ arch: process.arch, node: process.version, abi: native().ABI_VERSION, libbpf: libbpfVersion(), objects }));`;
    const r = runArm64Node(['--input-type=module', '-e', script], { MAXPRO_NATIVE_BINDING: undefined, MAXPRO_BPF_DIR: undefined });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { arch: string; node: string; abi: number; libbpf: string; objects: Record<string, unknown> };
    assert.equal(got.arch, 'arm64');
    assert.match(got.node, /^v\d+\./);
    assert.equal(got.abi, 2);
    assert.match(got.libbpf, /^v1\.\d+$/);
    for (const p of ARM64_PROBES) {
      // Unverified on this host: the manifest says arm64 (the arm64 run above verified them).
      const s = openObject(readFileSync(join(ARM64_OBJECT_DIR, `${p}.bpf.o`)), p);
      const want = { programs: s.programs.map((x) => [x.name, x.type, x.attachType]), maps: s.maps.map((x) => [x.name, x.type, x.keySize, x.valueSize]) };
      s.close();
      assert.deepEqual(got.objects[p], want, `${p}: arm64 libbpf and host libbpf agree`);
    }
  });
});
