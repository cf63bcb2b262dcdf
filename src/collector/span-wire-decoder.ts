// SPDX-License-Identifier: Apache-2.0
/**
 * Reads a protobuf `ExportTraceServiceRequest` straight into span rows, the
 * ingest hot path. It builds the same canonical attribute, event and link
 * objects as the message converters in `otlp-values.ts` and runs the same
 * record checks, so a protobuf body stores exactly what its JSON twin stores
 * (a unit test compares the two paths); it only skips the intermediate
 * protobufjs objects, which cost most of the decode time and garbage.
 */
import { OtlpDecodeError } from '../lib/otlp/otlp-errors.js';
import { otlpType } from '../lib/otlp/otlp-schema.js';
import { originJson, type JsonAnyValue, type JsonKeyValue, type PbMessage } from '../lib/otlp/otlp-values.js';
import { buildSpanRow, checkOrigins, newResult, rejectRecord, resolveLimits, serviceName, Rejection, withSchema, type KeyValue, type NormalizeResult, type RecordLimits, type SpanFields, type SpanRow } from './span-model.js';

// protobufjs (like protoc) refuses more than 100 nested messages; so do we.
const MAX_DEPTH = 100;

class Reader {
  pos: number;
  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start;
  }

  varint32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw truncated();
      const b = this.buf[this.pos++]!;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
      shift += 7;
      if (shift >= 70) throw new OtlpDecodeError('invalid protobuf: varint longer than 10 bytes', 'malformed');
    }
  }

  /** A varint as [low 32 bits, high 32 bits]. */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw truncated();
      const b = this.buf[this.pos++]!;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) { lo |= (b & 0x0f) << 28; hi |= (b & 0x7f) >>> 4; }
      else if (shift < 64) hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
      shift += 7;
      if (shift >= 70) throw new OtlpDecodeError('invalid protobuf: varint longer than 10 bytes', 'malformed');
    }
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw truncated();
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw truncated();
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw truncated();
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Start and end of a length-delimited field. */
  len(): [number, number] {
    const n = this.varint32();
    const start = this.pos;
    if (start + n > this.end) throw truncated();
    this.pos = start + n;
    return [start, start + n];
  }

  string(): string {
    const [a, b] = this.len();
    return this.buf.toString('utf8', a, b);
  }

  bytes(): Buffer {
    const [a, b] = this.len();
    return this.buf.subarray(a, b);
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case 0: this.varint64(); return;
      case 1: this.pos += 8; break;
      case 2: this.len(); return;
      case 5: this.pos += 4; break;
      case 3: {
        for (;;) {
          const tag = this.varint32();
          if ((tag & 7) === 4) {
            if (tag >>> 3 !== field) throw new OtlpDecodeError('invalid protobuf: unmatched end group', 'malformed');
            return;
          }
          this.skip(tag & 7, tag >>> 3);
        }
      }
      default: throw new OtlpDecodeError(`invalid protobuf: wire type ${wireType} at offset ${this.pos}`, 'malformed');
    }
    if (this.pos > this.end) throw truncated();
  }
}

function truncated(): OtlpDecodeError {
  return new OtlpDecodeError('invalid protobuf ExportTraceServiceRequest: truncated message', 'malformed');
}

function int64String(lo: number, hi: number): string {
  if (hi === 0 && lo < 0x80000000) return String(lo);
  if (hi === 0xffffffff && lo >= 0x80000000) return String(lo | 0);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

function tooDeep(): OtlpDecodeError {
  return new OtlpDecodeError('protobuf message nested more than 100 levels deep', 'nesting_too_deep');
}

/** Byte ranges of a singular message field; several occurrences merge, as in protobuf. */
type Ranges = [number, number][];

/** Expected wire type per field number (index), 0..8 for AnyValue. */
const ANY_WIRE = [-1, 2, 0, 0, 1, 2, 2, 2, 0];

/**
 * Decodes an AnyValue given as one or more byte ranges (merged). The oneof
 * member set last wins; a repeated array/kvlist member merges its values.
 */
function anyValue(buf: Buffer, ranges: Ranges, depth: number): JsonAnyValue {
  if (depth > MAX_DEPTH) throw tooDeep();
  let chosen = 0;
  let str = '';
  let bool = false;
  let int = '0';
  let dbl = 0;
  let bytes = '';
  let arr: JsonAnyValue[] | undefined;
  let kvl: JsonKeyValue[] | undefined;
  for (const [start, end] of ranges) {
    const r = new Reader(buf, start, end);
    while (r.pos < end) {
      const tag = r.varint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field < 1 || field > 8 || wire !== ANY_WIRE[field]) {
        r.skip(wire, field);
        continue;
      }
      chosen = field;
      switch (field) {
        case 1: str = r.string(); break;
        case 2: bool = r.varint64()[0] !== 0; break;
        case 3: { const [lo, hi] = r.varint64(); int = int64String(lo, hi); break; }
        case 4: dbl = r.double(); break;
        case 5: { const [a, b] = r.len(); arr = (arr ?? []).concat(arrayValues(buf, a, b, depth + 1)); break; }
        case 6: { const [a, b] = r.len(); kvl = (kvl ?? []).concat(kvlistValues(buf, a, b, depth + 1)); break; }
        case 7: bytes = r.bytes().toString('base64'); break;
        default: r.varint64();
      }
    }
  }
  switch (chosen) {
    case 1: return { stringValue: str };
    case 2: return { boolValue: bool };
    case 3: return { intValue: int };
    case 4: return { doubleValue: Number.isFinite(dbl) ? dbl : String(dbl) };
    case 5: return { arrayValue: arr && arr.length > 0 ? { values: arr } : {} };
    case 6: return { kvlistValue: kvl && kvl.length > 0 ? { values: kvl } : {} };
    case 7: return { bytesValue: bytes };
    default: return {};
  }
}

function arrayValues(buf: Buffer, start: number, end: number, depth: number): JsonAnyValue[] {
  if (depth > MAX_DEPTH) throw tooDeep();
  const r = new Reader(buf, start, end);
  const out: JsonAnyValue[] = [];
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) out.push(anyValue(buf, [r.len()], depth + 1));
    else r.skip(tag & 7, tag >>> 3);
  }
  return out;
}

function kvlistValues(buf: Buffer, start: number, end: number, depth: number): JsonKeyValue[] {
  if (depth > MAX_DEPTH) throw tooDeep();
  const r = new Reader(buf, start, end);
  const out: JsonKeyValue[] = [];
  while (r.pos < end) {
    const tag = r.varint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) { const [a, b] = r.len(); out.push(keyValue(buf, a, b, depth + 1)); }
    else r.skip(tag & 7, tag >>> 3);
  }
  return out;
}

function keyValue(buf: Buffer, start: number, end: number, depth: number): JsonKeyValue {
  if (depth > MAX_DEPTH) throw tooDeep();
  const r = new Reader(buf, start, end);
  let key = '';
  let value: Ranges | undefined;
  while (r.pos < end) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) key = r.string();
    else if (field === 2 && wire === 2) (value ??= []).push(r.len());
    else r.skip(wire, field);
  }
  return value ? { key, value: anyValue(buf, value, depth + 1) } : { key };
}

function event(buf: Buffer, start: number, end: number, depth: number): PbMessage {
  if (depth > MAX_DEPTH) throw tooDeep();
  const r = new Reader(buf, start, end);
  let time = 0n;
  let name = '';
  let attributes: JsonKeyValue[] | undefined;
  let dropped = 0;
  while (r.pos < end) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 1) time = r.fixed64();
    else if (field === 2 && wire === 2) name = r.string();
    else if (field === 3 && wire === 2) { const [a, b] = r.len(); (attributes ??= []).push(keyValue(buf, a, b, depth + 1)); }
    else if (field === 4 && wire === 0) dropped = r.varint32();
    else r.skip(wire, field);
  }
  const out: PbMessage = { timeUnixNano: time.toString() };
  if (name) out.name = name;
  if (attributes && attributes.length > 0) out.attributes = attributes;
  if (dropped) out.droppedAttributesCount = dropped;
  return out;
}

function link(buf: Buffer, start: number, end: number, depth: number): PbMessage {
  if (depth > MAX_DEPTH) throw tooDeep();
  const r = new Reader(buf, start, end);
  let traceId: Buffer = EMPTY;
  let spanId: Buffer = EMPTY;
  let traceState = '';
  let attributes: JsonKeyValue[] | undefined;
  let dropped = 0;
  let flags = 0;
  while (r.pos < end) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) traceId = r.bytes();
    else if (field === 2 && wire === 2) spanId = r.bytes();
    else if (field === 3 && wire === 2) traceState = r.string();
    else if (field === 4 && wire === 2) { const [a, b] = r.len(); (attributes ??= []).push(keyValue(buf, a, b, depth + 1)); }
    else if (field === 5 && wire === 0) dropped = r.varint32();
    else if (field === 6 && wire === 5) flags = r.fixed32();
    else r.skip(wire, field);
  }
  const out: PbMessage = { traceId: traceId.toString('hex'), spanId: spanId.toString('hex') };
  if (traceState) out.traceState = traceState;
  if (attributes && attributes.length > 0) out.attributes = attributes;
  if (dropped) out.droppedAttributesCount = dropped;
  if (flags) out.flags = flags;
  return out;
}

/** Expected wire type per Span field number (index). */
const SPAN_WIRE = [-1, 2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5];

function span(buf: Buffer, start: number, end: number, depth: number): SpanFields {
  if (depth > MAX_DEPTH) throw tooDeep();
  const r = new Reader(buf, start, end);
  const f: SpanFields = {
    traceId: EMPTY, spanId: EMPTY, parentSpanId: EMPTY, traceState: '', name: '', kind: 0, startNs: 0n, endNs: 0n,
    attributes: undefined, events: [], links: [], statusCode: 0, statusMessage: '', flags: 0,
    droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0,
  };
  while (r.pos < end) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field < 1 || field > 16 || wire !== SPAN_WIRE[field]) {
      r.skip(wire, field);
      continue;
    }
    switch (field) {
      case 1: f.traceId = r.bytes(); break;
      case 2: f.spanId = r.bytes(); break;
      case 3: f.traceState = r.string(); break;
      case 4: f.parentSpanId = r.bytes(); break;
      case 5: f.name = r.string(); break;
      case 6: f.kind = r.varint64()[0] | 0; break;
      case 7: f.startNs = r.fixed64(); break;
      case 8: f.endNs = r.fixed64(); break;
      case 9: { const [a, b] = r.len(); (f.attributes ??= []).push(keyValue(buf, a, b, depth + 1)); break; }
      case 10: f.droppedAttributesCount = r.varint32(); break;
      case 11: { const [a, b] = r.len(); f.events.push(event(buf, a, b, depth + 1)); break; }
      case 12: f.droppedEventsCount = r.varint32(); break;
      case 13: { const [a, b] = r.len(); f.links.push(link(buf, a, b, depth + 1)); break; }
      case 14: f.droppedLinksCount = r.varint32(); break;
      case 15: {
        // A repeated status merges into the earlier one, as in protobuf.
        const [a, b] = r.len();
        const s = new Reader(buf, a, b);
        while (s.pos < b) {
          const t = s.varint32();
          if (t >>> 3 === 2 && (t & 7) === 2) f.statusMessage = s.string();
          else if (t >>> 3 === 3 && (t & 7) === 0) f.statusCode = s.varint64()[0] | 0;
          else s.skip(t & 7, t >>> 3);
        }
        break;
      }
      default: f.flags = r.fixed32();
    }
  }
  return f;
}

const EMPTY = Buffer.alloc(0);
const Resource = otlpType('resource.v1.Resource');
const Scope = otlpType('common.v1.InstrumentationScope');

interface ScopeSpansRaw {
  scope: PbMessage;
  schemaUrl: string;
  spans: [number, number][];
}

/**
 * Decodes a protobuf `ExportTraceServiceRequest` body into span rows,
 * applying the same record limits and baggage attributes as
 * `normalizeSpans`.
 * @throws OtlpDecodeError when the body is not valid protobuf.
 */
export function decodeSpanRows(body: Uint8Array, limits?: RecordLimits, extraAttributes: readonly KeyValue[] = []): NormalizeResult<SpanRow> {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const lim = resolveLimits(limits);
  const out = newResult<SpanRow>();
  const top = new Reader(buf, 0, buf.length);
  let ri = -1;
  while (top.pos < buf.length) {
    const tag = top.varint32();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) { top.skip(tag & 7, tag >>> 3); continue; }
    ri++;
    const [rsStart, rsEnd] = top.len();
    const rs = new Reader(buf, rsStart, rsEnd);
    const resourceRanges: Ranges = [];
    let schemaUrl = '';
    const scopes: ScopeSpansRaw[] = [];
    while (rs.pos < rsEnd) {
      const t = rs.varint32();
      const field = t >>> 3;
      const wire = t & 7;
      if (field === 1 && wire === 2) {
        resourceRanges.push(rs.len());
      } else if (field === 2 && wire === 2) {
        const [a, b] = rs.len();
        const ss = new Reader(buf, a, b);
        const scopeRanges: Ranges = [];
        const raw: ScopeSpansRaw = { scope: {}, schemaUrl: '', spans: [] };
        while (ss.pos < b) {
          const u = ss.varint32();
          const sf = u >>> 3;
          const sw = u & 7;
          if (sf === 1 && sw === 2) scopeRanges.push(ss.len());
          else if (sf === 2 && sw === 2) raw.spans.push(ss.len());
          else if (sf === 3 && sw === 2) raw.schemaUrl = ss.string();
          else ss.skip(sw, sf);
        }
        raw.scope = originJson(decodeWith(Scope, buf, scopeRanges));
        scopes.push(raw);
      } else if (field === 3 && wire === 2) {
        schemaUrl = rs.string();
      } else {
        rs.skip(wire, field);
      }
    }
    const resource = originJson(decodeWith(Resource, buf, resourceRanges));
    const originError = checkOrigins(resource, scopes.map((s) => s.scope), lim);
    const service = serviceName(resource);
    const resourceJson = withSchema(resource, schemaUrl);
    for (let si = 0; si < scopes.length; si++) {
      const sc = scopes[si]!;
      const scopeJson = withSchema(sc.scope, sc.schemaUrl);
      for (let i = 0; i < sc.spans.length; i++) {
        const [a, b] = sc.spans[i]!;
        const fields = span(buf, a, b, 3);
        try {
          if (originError) throw originError;
          out.rows.push(buildSpanRow(fields, lim, service, resourceJson, scopeJson, extraAttributes));
        } catch (e) {
          if (!(e instanceof Rejection)) throw e;
          rejectRecord(out, e, `resourceSpans[${ri}].scopeSpans[${si}].spans[${i}]`);
        }
      }
    }
  }
  return out;
}

/** Decodes a resource or scope (rare, once per batch) with protobufjs; several occurrences merge. */
function decodeWith(type: ReturnType<typeof otlpType>, buf: Buffer, ranges: Ranges): PbMessage | undefined {
  if (ranges.length === 0) return undefined;
  const bytes = ranges.length === 1 ? buf.subarray(ranges[0]![0], ranges[0]![1]) : Buffer.concat(ranges.map(([a, b]) => buf.subarray(a, b)));
  try {
    return type.decode(bytes) as unknown as PbMessage;
  } catch (err) {
    if (/max depth exceeded/.test((err as Error).message)) throw new OtlpDecodeError('protobuf message nested more than 100 levels deep', 'nesting_too_deep', { cause: err });
    throw new OtlpDecodeError(`invalid protobuf ${type.name}: ${(err as Error).message}`, 'malformed', { cause: err });
  }
}
