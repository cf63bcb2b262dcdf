// SPDX-License-Identifier: Apache-2.0
/**
 * The one loader of the native addon and the declaration of its whole
 * surface. Nothing else in MaxPro imports the `.node` file. The addon moves
 * bytes and reports results; every decision is made in TypeScript.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { NativeMissingError, SyscallError } from '../lib/errors.js';
import { errnoName } from './errno.js';

/** Opaque handle types; only this layer touches them. */
export type ObjectHandle = { readonly __brand: 'ObjectHandle' };
export type LinkHandle = { readonly __brand: 'LinkHandle' };
export type ReaderHandle = { readonly __brand: 'ReaderHandle' };

export interface NativeProgramInfo { name: string; section: string; type: string; attachType: string; autoload: boolean }
export interface NativeMapInfo { name: string; type: string; keySize: number; valueSize: number; maxEntries: number; flags: number; internal: boolean }
export interface NativeDatasecVar { name: string; offset: number; size: number }
export interface NativeOpenResult {
  handle: ObjectHandle;
  programs: NativeProgramInfo[];
  maps: NativeMapInfo[];
  datasecs: Record<string, NativeDatasecVar[]>;
}
export type NativeLoadResult =
  | { ok: true; libbpfLog: string; programs: Record<string, number>; maps: Record<string, number> }
  | { ok: false; libbpfLog: string; errno: number; log: string };

export interface NativePerfEventAttr { type: number; config: number; sampleFreq?: number; samplePeriod?: number; pid?: number; cpu?: number }
export interface NativeReaderOptions { intervalMs: number; batchBytes: number; batches: number; block: boolean }
export interface NativeReaderStats { records: number; batches: number; bytes: number; queueDrops: number; oversizeDrops: number }
export interface NativeKernelMapInfo { id: number; name: string; type: string; keySize: number; valueSize: number; maxEntries: number; flags: number }
export interface NativeProgInfo { id: number; name: string; type: string; tag: string; xlatedLen: number; runTimeNs: bigint; runCount: bigint; recursionMisses: bigint }

/** The addon's exports, declared once. */
export interface NativeAddon {
  readonly ABI_VERSION: number;
  setErrorFactory(factory: (op: string, errno: number, detail: string | null) => Error): void;
  setLogHandler(fn: ((level: 'warn' | 'info' | 'debug', line: string) => void) | null, minLevel: 'warn' | 'info' | 'debug'): void;
  handleCounts(): { objects: number; links: number; readers: number };
  libbpfVersion(): string;

  objectOpen(bytes: Uint8Array | null, path: string | null, name: string, btfCustomPath?: string | null): NativeOpenResult;
  objectInitialValue(h: ObjectHandle, map: string): Buffer;
  objectSetInitialValue(h: ObjectHandle, map: string, bytes: Uint8Array): void;
  objectSetMaxEntries(h: ObjectHandle, map: string, n: number): void;
  objectSetPinPath(h: ObjectHandle, map: string, path: string | null): void;
  objectSetAutoload(h: ObjectHandle, prog: string, on: boolean): void;
  objectLoad(h: ObjectHandle, logSize: number, logLevel: number): NativeLoadResult;
  objectClose(h: ObjectHandle): void;

  attachTracepoint(h: ObjectHandle, prog: string, category: string, name: string): LinkHandle;
  attachRawTracepoint(h: ObjectHandle, prog: string, name: string): LinkHandle;
  attachTrace(h: ObjectHandle, prog: string): LinkHandle;
  attachAuto(h: ObjectHandle, prog: string): LinkHandle;
  attachKprobe(h: ObjectHandle, prog: string, func: string, retprobe: boolean): LinkHandle;
  attachUprobe(h: ObjectHandle, prog: string, path: string, func: string | null, offset: number, pid: number, retprobe: boolean): LinkHandle;
  attachPerfEvent(h: ObjectHandle, prog: string, attr: NativePerfEventAttr): LinkHandle;
  attachXdp(h: ObjectHandle, prog: string, ifindex: number): LinkHandle;
  attachCgroup(h: ObjectHandle, prog: string, cgroupPath: string): LinkHandle;
  attachTc(h: ObjectHandle, prog: string, ifindex: number, ingress: boolean, handle: number, priority: number): LinkHandle;
  attachSocketFilter(h: ObjectHandle, prog: string, sockFd: number): LinkHandle;
  linkDestroy(l: LinkHandle): void;
  linkPin(l: LinkHandle, path: string): void;
  linkUnpin(l: LinkHandle): void;
  linkDisconnect(l: LinkHandle): void;
  linkOpenPinned(path: string): LinkHandle;

  mapLookup(fd: number, key: Uint8Array, valueOut: Uint8Array, flags: number): boolean;
  mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags: number): void;
  mapDelete(fd: number, key: Uint8Array): boolean;
  mapNextKey(fd: number, key: Uint8Array | null, nextOut: Uint8Array): boolean;
  mapLookupBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array, values: Uint8Array, count: number, andDelete: boolean): { count: number; done: boolean };
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  closeFd(fd: number): void;
  mapInfo(fd: number): NativeKernelMapInfo;
  progInfo(fd: number): NativeProgInfo;
  enableStats(): number;
  numPossibleCpus(): number;

  ringbufOpen(mapFd: number, onBatch: (index: number, bytes: number, count: number) => void, onClose: () => void, options: NativeReaderOptions): { handle: ReaderHandle; buffers: ArrayBuffer[] };
  ringbufClose(h: ReaderHandle): void;
  ringbufFlush(h: ReaderHandle): void;
  ringbufRef(h: ReaderHandle, ref: boolean): void;
  ringbufStats(h: ReaderHandle): NativeReaderStats;

  probeProgType(type: string): number;
  probeMapType(type: string): number;
  probeHelper(progType: string, helperId: number): number;
  tracepointArgCount(name: string): number;
  btfEnumValues(name: string): [string, number][] | number;
}

const EXPECTED_ABI = 2;

/** The repository root, found from this file's location in src/ or dist/src/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, 'package.json')) && existsSync(resolve(dir, 'bpf'))) return dir;
    dir = resolve(dir, '..');
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
}

let cached: NativeAddon | undefined;

/**
 * Loads the addon once. `MAXPRO_NATIVE_BINDING` overrides its path.
 * May throw `NativeMissingError` when it was not built.
 */
export function native(): NativeAddon {
  if (cached) return cached;
  const path = process.env['MAXPRO_NATIVE_BINDING'] ?? resolve(repoRoot(), 'native/build/maxpro.node');
  if (!existsSync(path)) {
    throw new NativeMissingError(`native addon not found at ${path}: run \`npm run build\``);
  }
  const require = createRequire(import.meta.url);
  let addon: NativeAddon;
  try {
    addon = require(path) as NativeAddon;
  } catch (cause) {
    throw new NativeMissingError(`native addon at ${path} failed to load`, { cause });
  }
  if (addon.ABI_VERSION !== EXPECTED_ABI) {
    throw new NativeMissingError(`native addon ABI ${addon.ABI_VERSION}, expected ${EXPECTED_ABI}: rebuild with \`npm run build\``);
  }
  addon.setErrorFactory((op, errno, detail) => new SyscallError(op, errno, errnoName(errno), detail ?? undefined));
  cached = addon;
  return addon;
}
