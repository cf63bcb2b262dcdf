// SPDX-License-Identifier: Apache-2.0
/**
 * An opened, not yet loaded BPF object: its programs, maps and global
 * variables as the ELF describes them. Set constants, map sizes, autoload
 * and pin paths here; nothing touches the kernel until `load()`.
 */
import { existsSync } from 'node:fs';
import {
  ClosedError, InvalidArgumentError, NotFoundError, PermissionError, SyscallError, VerifierError,
} from '../lib/errors.js';
import { native } from './native.js';
import { missingCapability } from './capabilities.js';
import type { NativeDatasecVar, NativeMapInfo, NativeOpenResult, NativeProgramInfo, ObjectHandle } from './native.js';
import { createBpfObject } from './bpf-object.js';
import type { BpfObject } from './bpf-object.js';
import { errnoName } from './errno.js';
import { readVerifiedObject } from './object-verifier.js';
import type { VerifyOptions } from './object-verifier.js';
import { recordLoaded } from './object-attestation.js';
import type { ObjectAttestation } from './object-attestation.js';

/** A value for a global variable: integers by size, booleans, or raw bytes. */
export type ConstantValue = number | bigint | boolean | Uint8Array;

export interface LoadOptions {
  /** Bytes of verifier log kept when a load fails. Default 4 MiB. */
  logSize?: number;
  /** Verifier log level requested up front (0: only on failure). */
  logLevel?: 0 | 1 | 2;
}

const DEFAULT_LOG_SIZE = 4 << 20;
const OBJECT_NAME_MAX = 63;

export interface ObjectSpec {
  readonly name: string;
  readonly programs: readonly NativeProgramInfo[];
  readonly maps: readonly NativeMapInfo[];
  /** Global variables per data section (`.rodata`, `.bss`, `.data`). */
  readonly variables: Readonly<Record<string, readonly NativeDatasecVar[]>>;
  /** Sets a `const volatile` (or other global) variable before load. */
  setConstant(name: string, value: ConstantValue): this;
  setMaxEntries(map: string, entries: number): this;
  setAutoload(program: string, on: boolean): this;
  /** Pin `map` at `path` on load, reusing a compatible map already there. */
  setPinPath(map: string, path: string | null): this;
  /**
   * Loads every autoload program and creates the maps.
   * May throw `VerifierError`, `PermissionError` or `SyscallError`.
   */
  load(options?: LoadOptions): BpfObject;
  /** Frees the spec without loading. Idempotent. */
  close(): void;
}

export interface OpenOptions {
  /**
   * A raw kernel BTF file that CO-RE relocations resolve against at load instead of the
   * running kernel's (libbpf's `btf_custom_path`): a kernel without BTF, or another kernel's.
   */
  btfCustomPath?: string;
}

export type OpenFileOptions = Pick<VerifyOptions, 'expect' | 'afterVerify'> & OpenOptions;

/**
 * Opens a BPF object file: reads it once, verifies those bytes (signature,
 * signed manifest; see object-verifier.ts) and parses the same buffer.
 * `name` is libbpf's object name (default: the file's). May throw
 * `ObjectVerificationError` before anything is parsed, `SyscallError` for a
 * bad ELF.
 */
export function openObjectFile(path: string, name?: string, options: OpenFileOptions = {}): ObjectSpec {
  const v = readVerifiedObject(path, options);
  return openChecked(v.bytes, name ?? v.attestation.object, v.attestation, options);
}

/** Opens a BPF object from ELF bytes the caller vouches for (they are not verified). */
export function openObject(bytes: Uint8Array, name: string, options: OpenOptions = {}): ObjectSpec {
  return openChecked(bytes, name, undefined, options);
}

function openChecked(bytes: Uint8Array, name: string, attestation: ObjectAttestation | undefined, options: OpenOptions): ObjectSpec {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new InvalidArgumentError('openObject: bytes must be a non-empty Uint8Array');
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > OBJECT_NAME_MAX) {
    throw new InvalidArgumentError(`openObject: name must be 1..${OBJECT_NAME_MAX} bytes`);
  }
  const btf = options.btfCustomPath;
  if (btf !== undefined && (typeof btf !== 'string' || btf.length === 0)) {
    throw new InvalidArgumentError('openObject: btfCustomPath must be a non-empty path');
  }
  if (btf !== undefined && !existsSync(btf)) throw new NotFoundError(`openObject ${name}: BTF file ${btf} not found`);
  const res = native().objectOpen(bytes, null, name, btf ?? null);
  return new Spec(name, res, attestation);
}

class Spec implements ObjectSpec {
  readonly name: string;
  readonly programs: readonly NativeProgramInfo[];
  readonly maps: readonly NativeMapInfo[];
  readonly variables: Readonly<Record<string, readonly NativeDatasecVar[]>>;
  #handle: ObjectHandle | undefined;
  #sections = new Map<string, Buffer>(); // data section map name -> patched initial value
  #autoload = new Map<string, boolean>(); // program name -> autoload as set
  readonly #attestation: ObjectAttestation | undefined;

  constructor(name: string, res: NativeOpenResult, attestation: ObjectAttestation | undefined) {
    this.#attestation = attestation;
    this.name = name;
    this.#handle = res.handle;
    this.programs = res.programs;
    this.maps = res.maps;
    this.variables = res.datasecs;
  }

  #h(): ObjectHandle {
    if (!this.#handle) throw new ClosedError(`object spec ${this.name}`);
    return this.#handle;
  }

  setConstant(name: string, value: ConstantValue): this {
    const h = this.#h();
    for (const [section, vars] of Object.entries(this.variables)) {
      const v = vars.find((x) => x.name === name);
      if (!v) continue;
      const map = this.maps.find((m) => m.internal && m.name.endsWith(section));
      if (!map) throw new NotFoundError(`setConstant ${name}: no map for section ${section}`);
      let buf = this.#sections.get(map.name);
      if (!buf) {
        buf = Buffer.from(native().objectInitialValue(h, map.name));
        this.#sections.set(map.name, buf);
      }
      encodeInto(buf, v.offset, v.size, value, name);
      return this;
    }
    throw new NotFoundError(`setConstant ${name}: no such global variable in ${this.name}`);
  }

  setMaxEntries(map: string, entries: number): this {
    if (!Number.isInteger(entries) || entries <= 0 || entries > 0xffffffff) {
      throw new InvalidArgumentError(`setMaxEntries ${map}: ${entries} is not a positive uint32`);
    }
    const info = this.#map(map);
    if (info.type === 'ringbuf' && (entries & (entries - 1)) !== 0) {
      throw new InvalidArgumentError(`setMaxEntries ${map}: ring buffer size ${entries} must be a power of two`);
    }
    native().objectSetMaxEntries(this.#h(), map, entries);
    return this;
  }

  setAutoload(program: string, on: boolean): this {
    if (!this.programs.some((p) => p.name === program)) throw new NotFoundError(`setAutoload: no program ${program} in ${this.name}`);
    native().objectSetAutoload(this.#h(), program, on);
    this.#autoload.set(program, on);
    return this;
  }

  setPinPath(map: string, path: string | null): this {
    this.#map(map);
    native().objectSetPinPath(this.#h(), map, path);
    return this;
  }

  #map(name: string): NativeMapInfo {
    const m = this.maps.find((x) => x.name === name);
    if (!m) throw new NotFoundError(`no map ${name} in ${this.name}`);
    return m;
  }

  load(options: LoadOptions = {}): BpfObject {
    const h = this.#h();
    const n = native();
    for (const [map, bytes] of this.#sections) n.objectSetInitialValue(h, map, bytes);
    const logSize = options.logSize ?? DEFAULT_LOG_SIZE;
    const res = n.objectLoad(h, logSize, options.logLevel ?? 0);
    if (!res.ok) {
      // The object cannot be loaded again after a failed load.
      this.close();
      const types = this.programs.filter((p) => this.#autoload.get(p.name) ?? p.autoload).map((p) => p.type);
      throw loadError(this.name, res.errno, res.log, res.libbpfLog, logSize, types);
    }
    this.#handle = undefined; // ownership moves to the loaded object
    const forget = this.#attestation ? recordLoaded(this.#attestation) : undefined;
    return createBpfObject(this.name, h, this.programs, this.maps, res.programs, res.maps, forget);
  }

  close(): void {
    if (!this.#handle) return;
    native().objectClose(this.#handle);
    this.#handle = undefined;
  }
}

const ENOSPC = 28;
const EPERM = 1;

function loadError(object: string, errno: number, log: string, libbpfLog: string, logSize: number, types: string[]): Error {
  const failed = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(libbpfLog)?.[1];
  const lines = log.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
  if (failed && lines.length > 0) {
    const truncated = errno === ENOSPC || Buffer.byteLength(log) >= logSize - 1;
    return new VerifierError(`${object}/${failed}`, errno, lines, truncated);
  }
  if (errno === EPERM) {
    const cap = missingCapability(types);
    if (cap) return new PermissionError(cap, `load ${object}: EPERM: ${[...new Set(types)].join(', ') || 'its'} programs need ${cap}, which this process lacks`);
    return new PermissionError('CAP_BPF', `load ${object}: EPERM: the kernel refused the program although the capabilities it needs are held (an LSM, kernel lockdown or a seccomp profile, or a program type not permitted on this kernel)`);
  }
  const reason = libbpfLog.split('\n').filter((l) => /fail|error|invalid/i.test(l)).slice(-2).join(' / ');
  return new SyscallError('bpf_object__load', errno, errnoName(errno), `${object}${reason ? `: ${reason.trim()}` : ''}`);
}

function encodeInto(buf: Buffer, offset: number, size: number, value: ConstantValue, name: string): void {
  if (value instanceof Uint8Array) {
    if (value.length > size) throw new InvalidArgumentError(`setConstant ${name}: ${value.length} bytes do not fit in ${size}`);
    buf.fill(0, offset, offset + size);
    buf.set(value, offset);
    return;
  }
  if (typeof value === 'number' && !Number.isInteger(value)) throw new InvalidArgumentError(`setConstant ${name}: ${value} is not an integer`);
  const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  const bits = BigInt(size * 8);
  if (v >= 1n << bits || v < -(1n << (bits - 1n))) throw new InvalidArgumentError(`setConstant ${name}: ${value} does not fit in ${size} bytes`);
  const u = BigInt.asUintN(size * 8, v);
  switch (size) {
    case 1: buf.writeUInt8(Number(u), offset); break;
    case 2: buf.writeUInt16LE(Number(u), offset); break;
    case 4: buf.writeUInt32LE(Number(u), offset); break;
    case 8: buf.writeBigUInt64LE(u, offset); break;
    default: throw new InvalidArgumentError(`setConstant ${name}: size ${size} needs a Uint8Array value`);
  }
}
