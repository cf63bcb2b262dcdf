// SPDX-License-Identifier: Apache-2.0
/**
 * OTLP codec: decodes and encodes `Export{Trace,Logs,Metrics}ServiceRequest`
 * and their responses, in binary protobuf and in the OTLP/JSON mapping.
 *
 * Both encodings decode to one canonical form, the OTLP/JSON mapping with
 * lower-case hex ids, 64-bit integers as decimal strings, enums as numbers
 * and unset fields left out. A JSON body and its protobuf twin therefore
 * decode to deeply equal objects.
 */
import type protobuf from 'protobufjs';
import { otlpType } from './otlp-schema.js';
import { OtlpDecodeError } from './otlp-errors.js';

/** The three OTLP signals. */
export type OtlpSignal = 'traces' | 'logs' | 'metrics';

/** The two OTLP/HTTP body encodings. */
export type OtlpFormat = 'protobuf' | 'json';

/** A canonical OTLP/JSON object (see the module doc). */
export type OtlpObject = Record<string, unknown>;

/** The partial-success part of an export response. */
export interface OtlpPartialSuccess {
  /** Rejected spans, log records or data points. */
  rejected: number;
  errorMessage: string;
}

/** Limits applied while decoding. */
export interface OtlpDecodeOptions {
  /** Deepest allowed nesting of JSON arrays/objects (JSON bodies only); default 64. */
  maxJsonDepth?: number;
}

const REQUEST_TYPES: Record<OtlpSignal, string> = {
  traces: 'collector.trace.v1.ExportTraceServiceRequest',
  logs: 'collector.logs.v1.ExportLogsServiceRequest',
  metrics: 'collector.metrics.v1.ExportMetricsServiceRequest',
};
const RESPONSE_TYPES: Record<OtlpSignal, string> = {
  traces: 'collector.trace.v1.ExportTraceServiceResponse',
  logs: 'collector.logs.v1.ExportLogsServiceResponse',
  metrics: 'collector.metrics.v1.ExportMetricsServiceResponse',
};
const REJECTED_FIELD: Record<OtlpSignal, string> = {
  traces: 'rejectedSpans',
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
};

const typeCache = new Map<string, protobuf.Type>();
function type(name: string): protobuf.Type {
  let t = typeCache.get(name);
  if (!t) {
    t = otlpType(name);
    typeCache.set(name, t);
  }
  return t;
}

// `json`: NaN and infinities as "NaN", "Infinity", "-Infinity", as the OTLP/JSON mapping writes them.
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: String, defaults: false, arrays: false, oneofs: false, json: true };

// 64-bit integer fields of the OTLP messages; JSON may carry them as numbers or decimal strings.
const SIGNED_64 = new Set(['intValue', 'asInt']);
const UNSIGNED_64 = new Set(['timeUnixNano', 'startTimeUnixNano', 'endTimeUnixNano', 'observedTimeUnixNano', 'count', 'bucketCounts']);
const INT_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

function integerProblem(v: unknown, signed: boolean): string | undefined {
  let n: bigint;
  if (typeof v === 'number') {
    // A JSON number past 2^53 has lost digits in the sender already; taken as it reads if it is in range.
    if (!Number.isInteger(v)) return 'is not an integer';
    n = BigInt(v);
  } else if (typeof v === 'string') {
    if (!INT_TEXT.test(v)) return 'is not a decimal integer';
    n = BigInt(v);
  } else {
    return 'is not a number or a decimal string';
  }
  if (signed ? n < I64_MIN || n > I64_MAX : n < 0n || n > U64_MAX) return `is out of the ${signed ? 'int64' : 'uint64'} range`;
  return undefined;
}

/**
 * Refuses 64-bit integer fields that protobufjs would wrap, clamp or truncate
 * (`"9223372036854775808"`, `"1.5"`, `1e20`), naming the field's path.
 */
function checkJsonIntegers(node: unknown, path: string): void {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) if (node[i] !== null && typeof node[i] === 'object') checkJsonIntegers(node[i], `${path}[${i}]`);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    const signed = SIGNED_64.has(k);
    if (signed || UNSIGNED_64.has(k)) {
      const values = Array.isArray(v) ? v : [v];
      for (let i = 0; i < values.length; i++) {
        const problem = integerProblem(values[i], signed);
        if (problem) {
          const where = `${path}.${k}${Array.isArray(v) ? `[${i}]` : ''}`;
          throw new OtlpDecodeError(`${where} ${JSON.stringify(values[i])?.slice(0, 40)} ${problem}`, 'invalid_integer');
        }
      }
    } else if (v !== null && typeof v === 'object') checkJsonIntegers(v, path === '' ? k : `${path}.${k}`);
  }
}

/** Walks the places where OTLP carries trace/span ids and rewrites them. */
function mapIds(signal: OtlpSignal, req: OtlpObject, fn: (v: unknown) => unknown): void {
  const fix = (o: Record<string, unknown>, keys: readonly string[]): void => {
    for (const k of keys) if (o[k] !== undefined) o[k] = fn(o[k]);
  };
  const each = (v: unknown, f: (o: Record<string, unknown>) => void): void => {
    if (Array.isArray(v)) for (const x of v) if (x !== null && typeof x === 'object') f(x as Record<string, unknown>);
  };
  if (signal === 'traces') {
    each(req.resourceSpans, (rs) => each(rs.scopeSpans, (ss) => each(ss.spans, (s) => {
      fix(s, ['traceId', 'spanId', 'parentSpanId']);
      each(s.links, (l) => fix(l, ['traceId', 'spanId']));
    })));
  } else if (signal === 'logs') {
    each(req.resourceLogs, (rl) => each(rl.scopeLogs, (sl) => each(sl.logRecords, (r) => fix(r, ['traceId', 'spanId']))));
  } else {
    each(req.resourceMetrics, (rm) => each(rm.scopeMetrics, (sm) => each(sm.metrics, (m) => {
      for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
        const data = m[kind] as Record<string, unknown> | undefined;
        if (data && typeof data === 'object') each(data.dataPoints, (dp) => each(dp.exemplars, (e) => fix(e, ['traceId', 'spanId'])));
      }
    })));
  }
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/**
 * What a JSON id that is not hex decodes to: 3 bytes no valid id can have,
 * so record validation rejects that one record and can say why.
 */
export const NOT_HEX_ID: Uint8Array = Uint8Array.of(0x6e, 0x6f, 0x21);

/** Ids in OTLP/JSON are hex (any case); protobufjs wants base64 for bytes. */
function hexToBase64(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (!HEX.test(v)) return Buffer.from(NOT_HEX_ID).toString('base64');
  return Buffer.from(v, 'hex').toString('base64');
}
function base64ToHex(v: unknown): unknown {
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('hex') : v;
}

/** Rejects JSON nested deeper than `max` before parsing it. */
function checkJsonDepth(text: string, max: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash escapes the next char
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) throw new OtlpDecodeError(`JSON nesting deeper than ${max} levels at offset ${i}`, 'nesting_too_deep');
    } else if (c === 125 || c === 93) depth--;
  }
}

/**
 * Decodes an export request body into the protobufjs message: ids as bytes,
 * 64-bit integers as Long. Both encodings give the same message; the
 * converters in `otlp-values.ts` read it without a generic conversion pass.
 * @throws OtlpDecodeError when the body is not a valid request.
 */
export function decodeExportMessage(signal: OtlpSignal, body: Uint8Array, format: OtlpFormat, options?: OtlpDecodeOptions): protobuf.Message {
  const t = type(REQUEST_TYPES[signal]);
  if (format === 'protobuf') {
    try {
      return t.decode(body);
    } catch (err) {
      // protobufjs stops at 100 nested messages, as protoc does.
      if (/max depth exceeded|call stack/i.test((err as Error).message)) {
        throw new OtlpDecodeError('protobuf message nested more than 100 levels deep', 'nesting_too_deep', { cause: err });
      }
      throw new OtlpDecodeError(`invalid protobuf ${t.name}: ${(err as Error).message}`, 'malformed', { cause: err });
    }
  }
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  checkJsonDepth(text, options?.maxJsonDepth ?? 64);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`, 'malformed', { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new OtlpDecodeError(`invalid ${t.name}: the JSON body must be an object`, 'malformed');
  }
  checkJsonIntegers(parsed, '');
  return messageFromObject(signal, parsed as OtlpObject, false);
}

/**
 * Builds the message for a canonical (or any OTLP/JSON) request object.
 * @throws OtlpDecodeError when a field has the wrong type.
 */
export function messageFromObject(signal: OtlpSignal, request: OtlpObject, copyFirst = true): protobuf.Message {
  const t = type(REQUEST_TYPES[signal]);
  // Ids are rewritten in place, so the caller's object is copied unless it is ours.
  const copy = copyFirst ? structuredClone(request) : request;
  mapIds(signal, copy, hexToBase64);
  try {
    return t.fromObject(copy);
  } catch (err) {
    if (/max depth exceeded/.test((err as Error).message)) throw new OtlpDecodeError('JSON message nested more than 100 levels deep', 'nesting_too_deep', { cause: err });
    throw new OtlpDecodeError(`invalid ${t.name} JSON: ${(err as Error).message}`, 'malformed', { cause: err });
  }
}

/**
 * Decodes an export request body into the canonical form.
 * @throws OtlpDecodeError when the body is not a valid request.
 */
export function decodeExportRequest(signal: OtlpSignal, body: Uint8Array, format: OtlpFormat, options?: OtlpDecodeOptions): OtlpObject {
  const t = type(REQUEST_TYPES[signal]);
  const message = decodeExportMessage(signal, body, format, options);
  let obj: OtlpObject;
  try {
    obj = t.toObject(message, TO_OBJECT) as OtlpObject;
  } catch (err) {
    if (err instanceof RangeError || /max depth exceeded/.test((err as Error).message)) throw new OtlpDecodeError('message nested too deeply', 'nesting_too_deep', { cause: err });
    throw err;
  }
  mapIds(signal, obj, base64ToHex);
  return obj;
}

/** Encodes a canonical export request as protobuf or JSON. */
export function encodeExportRequest(signal: OtlpSignal, request: OtlpObject, format: OtlpFormat): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify(request));
  const copy = structuredClone(request);
  mapIds(signal, copy, hexToBase64);
  const t = type(REQUEST_TYPES[signal]);
  return t.encode(t.fromObject(copy)).finish();
}

/** Encodes an export response; an empty partial success is left out, as the spec asks. */
export function encodeExportResponse(signal: OtlpSignal, partial: OtlpPartialSuccess | undefined, format: OtlpFormat): Uint8Array {
  const obj: OtlpObject = {};
  if (partial && (partial.rejected > 0 || partial.errorMessage !== '')) {
    const ps: OtlpObject = {};
    if (partial.rejected > 0) ps[REJECTED_FIELD[signal]] = String(partial.rejected);
    if (partial.errorMessage !== '') ps.errorMessage = partial.errorMessage;
    obj.partialSuccess = ps;
  }
  if (format === 'json') return Buffer.from(JSON.stringify(obj));
  const t = type(RESPONSE_TYPES[signal]);
  return t.encode(t.fromObject(obj)).finish();
}

/** Decodes an export response (used by exporters and tests). */
export function decodeExportResponse(signal: OtlpSignal, body: Uint8Array, format: OtlpFormat): OtlpPartialSuccess | undefined {
  let obj: OtlpObject;
  if (format === 'json') {
    obj = body.byteLength === 0 ? {} : JSON.parse(Buffer.from(body).toString('utf8')) as OtlpObject;
  } else {
    const t = type(RESPONSE_TYPES[signal]);
    obj = t.toObject(t.decode(body), TO_OBJECT) as OtlpObject;
  }
  const ps = obj.partialSuccess as OtlpObject | undefined;
  if (!ps) return undefined;
  return { rejected: Number(ps[REJECTED_FIELD[signal]] ?? 0), errorMessage: String(ps.errorMessage ?? '') };
}

/** The `google.rpc.Status`-shaped body OTLP/HTTP returns with 4xx/5xx answers. */
export function encodeErrorStatus(code: number, message: string, format: OtlpFormat): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify({ code, message }));
  // google.rpc.Status: code = 1 (int32), message = 2 (string). Written by hand
  // because it is the only message outside the OTLP package we need.
  const msg = Buffer.from(message, 'utf8');
  const parts: number[] = [];
  if (code !== 0) parts.push(0x08, ...varint(code));
  parts.push(0x12, ...varint(msg.length));
  return Buffer.concat([Buffer.from(parts), msg]);
}

/** Protobuf base-128 varint of an unsigned 32-bit value. */
export function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
