// SPDX-License-Identifier: Apache-2.0
/**
 * Where the arm64 build (scripts/build-arch.sh arm64) and what scripts/fetch-arm64.sh caches
 * (Debian's arm64 kernel BTF and Node, keyed by tools/arm64/versions.env) live, and why a
 * test that needs one of them must skip.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

export const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const ARM64_OBJECT_DIR = join(repo, 'bpf/.output/arm64');
export const ARM64_ADDON = join(repo, 'native/build/arm64/maxpro.node');
/** Every probe of bpf/probes/ (probes/<name>/<name>.bpf.c, as bpf/Makefile finds them), sorted. */
export const ARM64_PROBES: readonly string[] = readdirSync(join(repo, 'bpf/probes'))
  .filter((d) => existsSync(join(repo, 'bpf/probes', d, `${d}.bpf.c`))).sort();

const SETUP = 'MAXPRO_SETUP_ARM64=1 bash scripts/setup.sh';

export function arm64Versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(repo, 'tools/arm64/versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const cacheRoot = (): string => process.env['MAXPRO_ARM64_CACHE'] ?? join(homedir(), '.cache', 'maxpro', 'arm64');

/** The raw BTF of Debian's arm64 kernel the header was dumped from (may not exist). */
export const arm64KernelBtf = (): string => join(cacheRoot(), `kernel-${arm64Versions()['ARM64_KERNEL_VERSION']}`, 'vmlinux.btf');
/** The unpacked root of Debian's arm64 Node (may not exist). */
export const arm64NodeRoot = (): string => join(cacheRoot(), `node-${arm64Versions()['ARM64_NODE_VERSION']}`);

/** Why the arm64 build is absent, or false. */
export function arm64BuildSkip(): string | false {
  for (const p of [ARM64_ADDON, join(ARM64_OBJECT_DIR, 'manifest.json'), ...ARM64_PROBES.map((n) => join(ARM64_OBJECT_DIR, `${n}.bpf.o`))]) {
    if (!existsSync(p)) return `arm64 build absent (${p}): it needs the cross toolchain; run ${SETUP}`;
  }
  return false;
}

/** Why Debian's arm64 kernel BTF is not at hand, or false. */
export function arm64BtfSkip(): string | false {
  return existsSync(arm64KernelBtf()) ? false : `Debian's arm64 kernel BTF not cached at ${arm64KernelBtf()}: run bash scripts/fetch-arm64.sh`;
}

/** Why the arm64 Node cannot be run under qemu-user here, or false. */
export function qemuSkip(): string | false {
  if (spawnSync('qemu-aarch64-static', ['--version'], { stdio: 'ignore' }).status !== 0) return `qemu-aarch64-static not installed: run ${SETUP}`;
  if (!existsSync(join(arm64NodeRoot(), 'usr/bin/node'))) return `Debian's arm64 Node not cached at ${arm64NodeRoot()}: run bash scripts/fetch-arm64.sh`;
  if (!existsSync('/lib/ld-linux-aarch64.so.1')) return `the arm64 C library (libc6:arm64) is not installed: run ${SETUP}`;
  return false;
}

/** Runs Debian's arm64 Node under qemu-user (files it opens are looked up in its root first); `undefined` unsets a variable. */
export function runArm64Node(args: string[], env: Record<string, string | undefined> = {}): { status: number | null; stdout: string; stderr: string } {
  const root = arm64NodeRoot();
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  const r = spawnSync('qemu-aarch64-static', ['-L', root, join(root, 'usr/bin/node'), ...args], {
    encoding: 'utf8', timeout: 120_000, env: merged,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** ELF identification of a file: class, byte order and e_machine. */
export function elfHeader(path: string): { elf: boolean; class64: boolean; littleEndian: boolean; machine: number } {
  const b = readFileSync(path).subarray(0, 20);
  const elf = b.length >= 20 && b[0] === 0x7f && b.toString('latin1', 1, 4) === 'ELF';
  const littleEndian = b[5] === 1;
  return { elf, class64: b[4] === 2, littleEndian, machine: littleEndian ? b.readUInt16LE(18) : b.readUInt16BE(18) };
}

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_BPF = 247;
