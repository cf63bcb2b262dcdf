// SPDX-License-Identifier: Apache-2.0
/**
 * MaxPro's error classes. Every error has a stable `code`; match on it rather
 * than on `instanceof` or the message. A subclass exists only where a caller
 * handles the case differently. Keep `docs/errors.md` in sync: a unit test
 * compares the two.
 */

/** Every stable error code MaxPro throws or returns. */
export type MaxproErrorCode =
  | 'MAXPRO_ERR_INTERNAL'
  | 'MAXPRO_ERR_INVALID_ARGUMENT'
  | 'MAXPRO_ERR_NOT_FOUND'
  | 'MAXPRO_ERR_CLOSED'
  | 'MAXPRO_ERR_TIMEOUT'
  | 'MAXPRO_ERR_EBPF_NOT_SUPPORTED'
  | 'MAXPRO_ERR_EBPF_PERMISSION'
  | 'MAXPRO_ERR_EBPF_TRACEFS'
  | 'MAXPRO_ERR_EBPF_VERIFIER'
  | 'MAXPRO_ERR_EBPF_SYSCALL'
  | 'MAXPRO_ERR_EBPF_ATTACH'
  | 'MAXPRO_ERR_EBPF_NATIVE_MISSING'
  | 'MAXPRO_ERR_EBPF_LAYOUT'
  | 'MAXPRO_ERR_CONFIG_INVALID'
  | 'MAXPRO_ERR_COLLECTOR_OTLP_DECODE'
  | 'MAXPRO_ERR_COLLECTOR_STORAGE'
  | 'MAXPRO_ERR_COLLECTOR_REQUEST'
  | 'MAXPRO_ERR_COLLECTOR_REFUSED'
  | 'MAXPRO_ERR_COLLECTOR_UNAUTHENTICATED'
  | 'MAXPRO_ERR_COLLECTOR_OVERLOADED'
  | 'MAXPRO_ERR_COLLECTOR_BODY'
  | 'MAXPRO_ERR_TRACECONTEXT_INVALID'
  | 'MAXPRO_ERR_SIGNING_KEY'
  | 'MAXPRO_ERR_EBPF_OBJECT_UNTRUSTED'
  | 'MAXPRO_ERR_CAPTURE_FILE';

export interface MaxproErrorOptions {
  cause?: unknown;
}

/** The base class of every MaxPro error. */
export class MaxproError extends Error {
  override readonly name: string = 'MaxproError';
  readonly code: MaxproErrorCode;

  constructor(code: MaxproErrorCode, message: string, options?: MaxproErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** An argument or option was rejected before anything touched the kernel. */
export class InvalidArgumentError extends MaxproError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_INVALID_ARGUMENT', message, options);
  }
}

/** A named program, map, file or record does not exist. */
export class NotFoundError extends MaxproError {
  override readonly name = 'NotFoundError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_NOT_FOUND', message, options);
  }
}

/** An object was used after `close()`. */
export class ClosedError extends MaxproError {
  override readonly name = 'ClosedError';
  constructor(what: string) {
    super('MAXPRO_ERR_CLOSED', `${what}: used after close`);
  }
}

/** A deadline passed before an operation finished. */
export class TimeoutError extends MaxproError {
  override readonly name = 'TimeoutError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_TIMEOUT', message, options);
  }
}

/** The running kernel (or its configuration) lacks a feature. */
export class NotSupportedError extends MaxproError {
  override readonly name = 'NotSupportedError';
  /** The missing feature, e.g. `kprobe` or `map:ringbuf`. */
  readonly feature: string;
  /** The first kernel version that has it, where one is known. */
  readonly minKernel: string | undefined;
  constructor(feature: string, message?: string, options?: MaxproErrorOptions & { minKernel?: string }) {
    super('MAXPRO_ERR_EBPF_NOT_SUPPORTED', message ?? `${feature}: not supported by this kernel`, options);
    this.feature = feature;
    this.minKernel = options?.minKernel;
  }
}

/** The process lacks a capability the operation needs. */
export class PermissionError extends MaxproError {
  override readonly name = 'PermissionError';
  /** The capability to grant, e.g. `CAP_BPF`. */
  readonly capability: string;
  constructor(capability: string, message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_PERMISSION', message, options);
    this.capability = capability;
  }
}

/**
 * A `tp/` program could not attach because tracefs, where its tracepoint id
 * is read, is not mounted or not readable by this process (it is root-only
 * on most systems). `file` is what could not be read.
 */
export class TracefsError extends MaxproError {
  override readonly name = 'TracefsError';
  readonly file: string;
  readonly reason: 'not-mounted' | 'unreadable';
  constructor(file: string, reason: 'not-mounted' | 'unreadable', message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_TRACEFS', message, options);
    this.file = file;
    this.reason = reason;
  }
}

/** A failed syscall or libbpf call: carries the errno and the operation. */
export class SyscallError extends MaxproError {
  override readonly name = 'SyscallError';
  /** Positive errno value. */
  readonly errno: number;
  /** Symbolic errno, e.g. `EINVAL`. */
  readonly errnoName: string;
  /** The libbpf or syscall operation, e.g. `bpf_object__load`. */
  readonly op: string;
  constructor(op: string, errno: number, errnoName: string, detail?: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_SYSCALL', `${op}: ${errnoName}${detail ? ` (${detail})` : ''}`, options);
    this.op = op;
    this.errno = errno;
    this.errnoName = errnoName;
  }
}

/** A program could not be attached to its hook. */
export class AttachError extends MaxproError {
  override readonly name = 'AttachError';
  readonly program: string;
  constructor(program: string, message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_ATTACH', message, options);
    this.program = program;
  }
}

/**
 * The verifier rejected a program. `message` is short: the cause and the last
 * meaningful log lines. `log` holds every line.
 */
export class VerifierError extends MaxproError {
  override readonly name = 'VerifierError';
  readonly program: string;
  readonly log: readonly string[];
  /** True when the log buffer was too small and the log is clipped. */
  readonly truncated: boolean;
  readonly errno: number;
  constructor(program: string, errno: number, log: readonly string[], truncated: boolean, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_VERIFIER', verifierSummary(program, errno, log), options);
    this.program = program;
    this.errno = errno;
    this.log = log;
    this.truncated = truncated;
  }
}

/** The native addon could not be found or loaded. */
export class NativeMissingError extends MaxproError {
  override readonly name = 'NativeMissingError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_NATIVE_MISSING', message, options);
  }
}

/** A TypeScript event layout disagrees with the BTF of the compiled object. */
export class LayoutError extends MaxproError {
  override readonly name = 'LayoutError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_LAYOUT', message, options);
  }
}

/** A configuration file or value is invalid; the message names where. */
export class ConfigError extends MaxproError {
  override readonly name = 'ConfigError';
  /** The file the problem is in, when there is one. */
  readonly file: string | undefined;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  constructor(message: string, options?: MaxproErrorOptions & { file?: string; line?: number }) {
    super('MAXPRO_ERR_CONFIG_INVALID', message, options);
    this.file = options?.file;
    this.line = options?.line;
  }
}

const VERIFIER_TAIL_LINES = 2;

function verifierSummary(program: string, errno: number, log: readonly string[]): string {
  const meaningful = log.filter((l) => l.trim() !== '' && !/^(processed|verification time|stack depth)/.test(l));
  const tail = meaningful.slice(-VERIFIER_TAIL_LINES);
  const omitted = log.length - tail.length;
  const head = `load program ${program}: verifier rejected it (errno ${errno})`;
  if (tail.length === 0) return head;
  return `${head}: ${tail.join(' / ')}${omitted > 0 ? ` (${omitted} line(s) omitted)` : ''}`;
}

/** A signing or trusted key file is unreadable, of the wrong algorithm, or its password is wrong. */
export class SigningKeyError extends MaxproError {
  override readonly name = 'SigningKeyError';
  constructor(message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_SIGNING_KEY', message, options);
  }
}

/**
 * A BPF object was refused before anything parsed it: its signature, the
 * signed manifest or the file itself failed a check. `reason` is the
 * `maxpro_bpf_object_verification_failures_total` label.
 */
export class ObjectVerificationError extends MaxproError {
  override readonly name = 'ObjectVerificationError';
  readonly object: string;
  readonly reason: string;
  constructor(object: string, reason: string, message: string, options?: MaxproErrorOptions) {
    super('MAXPRO_ERR_EBPF_OBJECT_UNTRUSTED', `BPF object ${object} refused (${reason}): ${message}`, options);
    this.object = object;
    this.reason = reason;
  }
}
