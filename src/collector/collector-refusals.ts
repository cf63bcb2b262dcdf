// SPDX-License-Identifier: Apache-2.0
/**
 * Why the collector refuses a request, as errors both transports answer
 * from: OTLP/HTTP sends `status` (with Retry-After), OTLP/gRPC sends
 * {@link grpcStatusOf} (with `google.rpc.RetryInfo` in
 * `grpc-status-details-bin`). `reason` is the rejection-counter label.
 */
import { MaxproError, type MaxproErrorCode, type MaxproErrorOptions } from '../lib/errors.js';
import { varint } from '../lib/otlp/otlp-codec.js';

/** Options of a refusal. */
export interface RefusalOptions extends MaxproErrorOptions {
  /** Seconds after which a retry may succeed; set for load refusals only. */
  retryAfter?: number;
}

/** A request the collector refuses: bad method, path, media type or shape. */
export class RefusalError extends MaxproError {
  override readonly name: string = 'RefusalError';
  /** The HTTP status OTLP/HTTP answers with. */
  readonly status: number;
  /** The rejection-counter label, e.g. `unsupported_media_type`. */
  readonly reason: string;
  /** Seconds the client should wait before retrying, when retrying can help. */
  readonly retryAfter: number | undefined;
  constructor(status: number, reason: string, message: string, options?: RefusalOptions, code: MaxproErrorCode = 'MAXPRO_ERR_COLLECTOR_REFUSED') {
    super(code, message, options);
    this.status = status;
    this.reason = reason;
    this.retryAfter = options?.retryAfter;
  }
}

/** The caller sent no valid credentials (401 / UNAUTHENTICATED). */
export class UnauthenticatedError extends RefusalError {
  override readonly name = 'UnauthenticatedError';
  constructor(message = 'missing or invalid credentials: send Authorization: Bearer <token> or X-MaxPro-Auth: <key>') {
    super(401, 'unauthorized', message, undefined, 'MAXPRO_ERR_COLLECTOR_UNAUTHENTICATED');
  }
}

/** The collector sheds load; retry after `retryAfter` seconds (429/503, RESOURCE_EXHAUSTED/UNAVAILABLE). */
export class OverloadedError extends RefusalError {
  override readonly name = 'OverloadedError';
  constructor(status: 429 | 503, reason: string, message: string, retryAfter: number, options?: MaxproErrorOptions) {
    super(status, reason, message, { ...options, retryAfter }, 'MAXPRO_ERR_COLLECTOR_OVERLOADED');
  }
}

/** A request body over a size limit, late, aborted or not valid gzip (413/408/400). */
export class BodyRefusalError extends RefusalError {
  override readonly name = 'BodyRefusalError';
  constructor(status: number, reason: BodyRejectReason, message: string, options?: MaxproErrorOptions) {
    super(status, reason, message, options, 'MAXPRO_ERR_COLLECTOR_BODY');
  }
}

/** Why a body was refused; also the rejection-counter label. */
export type BodyRejectReason = 'body_too_large' | 'decompressed_too_large' | 'bad_gzip' | 'body_timeout' | 'aborted';

/** gRPC status codes the collector answers with. */
export const GrpcCode = {
  OK: 0, CANCELLED: 1, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

/**
 * The gRPC code for an HTTP refusal status. `body` picks the code OTLP/HTTP
 * puts in its `Status` body (413 is INVALID_ARGUMENT there); otherwise the
 * code an OTLP/gRPC receiver answers (an oversize message is
 * RESOURCE_EXHAUSTED, as gRPC itself answers, but without retry info).
 */
export function grpcCodeOf(status: number, body = false): number {
  switch (status) {
    case 400: case 415: return GrpcCode.INVALID_ARGUMENT;
    case 413: return body ? GrpcCode.INVALID_ARGUMENT : GrpcCode.RESOURCE_EXHAUSTED;
    case 401: return GrpcCode.UNAUTHENTICATED;
    case 404: return GrpcCode.NOT_FOUND;
    case 405: return GrpcCode.UNIMPLEMENTED;
    case 408: return GrpcCode.DEADLINE_EXCEEDED;
    case 429: return GrpcCode.RESOURCE_EXHAUSTED;
    case 503: return GrpcCode.UNAVAILABLE;
    default: return GrpcCode.INTERNAL;
  }
}

/**
 * A serialized `google.rpc.Status` carrying a `google.rpc.RetryInfo` detail,
 * the value of the `grpc-status-details-bin` trailer. Written by hand: these
 * are the only messages outside OTLP the receiver sends.
 */
export function encodeRetryStatus(code: number, message: string, retryAfterSeconds: number): Buffer {
  const seconds = Math.max(0, Math.floor(retryAfterSeconds));
  const nanos = Math.round((Math.max(0, retryAfterSeconds) - seconds) * 1e9);
  // google.protobuf.Duration: seconds = 1 (int64), nanos = 2 (int32).
  const duration = Buffer.concat([field(1, 0, varintBuffer(seconds)), nanos > 0 ? field(2, 0, varintBuffer(nanos)) : Buffer.alloc(0)]);
  const retryInfo = field(1, 2, duration); // RetryInfo.retry_delay = 1
  const any = Buffer.concat([field(1, 2, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), field(2, 2, retryInfo)]);
  return Buffer.concat([code !== 0 ? field(1, 0, varintBuffer(code)) : Buffer.alloc(0), field(2, 2, Buffer.from(message, 'utf8')), field(3, 2, any)]);
}

/** The retry delay in seconds of a `grpc-status-details-bin` value, if it holds a RetryInfo (tests, clients). */
export function decodeRetryDelay(status: Uint8Array): number | undefined {
  for (const [n, v] of fields(status)) {
    if (n !== 3 || !(v instanceof Uint8Array)) continue;
    let typeUrl = '';
    let value: Uint8Array | undefined;
    for (const [an, av] of fields(v)) {
      if (an === 1 && av instanceof Uint8Array) typeUrl = Buffer.from(av).toString('utf8');
      if (an === 2 && av instanceof Uint8Array) value = av;
    }
    if (typeUrl !== 'type.googleapis.com/google.rpc.RetryInfo' || !value) continue;
    for (const [rn, rv] of fields(value)) {
      if (rn !== 1 || !(rv instanceof Uint8Array)) continue;
      let s = 0;
      let ns = 0;
      for (const [dn, dv] of fields(rv)) {
        if (dn === 1 && typeof dv === 'number') s = dv;
        if (dn === 2 && typeof dv === 'number') ns = dv;
      }
      return s + ns / 1e9;
    }
  }
  return undefined;
}

function field(n: number, wire: 0 | 2, payload: Buffer): Buffer {
  const tag = varintBuffer((n << 3) | wire);
  return wire === 0 ? Buffer.concat([tag, payload]) : Buffer.concat([tag, varintBuffer(payload.length), payload]);
}

function varintBuffer(n: number): Buffer {
  return Buffer.from(varint(n));
}

/** Field number and value (number for varints, bytes for length-delimited) of a small message. */
function* fields(buf: Uint8Array): Generator<[number, number | Uint8Array]> {
  let pos = 0;
  const readVarint = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw new RangeError('truncated varint');
      const b = buf[pos++]!;
      r += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return r;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const tag = readVarint();
    const wire = tag & 7;
    if (wire === 0) yield [tag >>> 3, readVarint()];
    else if (wire === 2) {
      const len = readVarint();
      yield [tag >>> 3, buf.subarray(pos, pos + len)];
      pos += len;
    } else return;
  }
}
