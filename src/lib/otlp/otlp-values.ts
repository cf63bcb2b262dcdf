// SPDX-License-Identifier: Apache-2.0
/**
 * Converters from decoded OTLP protobuf messages (protobufjs objects) to the
 * canonical OTLP/JSON form, without the generic `toObject` pass. Receivers
 * on the hot path use them; every encoding goes through the same converters
 * so a JSON body and its protobuf twin give identical output.
 */

/** A decoded protobuf message, read by field name. */
export type PbMessage = Record<string, unknown>;

/** `KeyValue` in canonical OTLP/JSON form. */
export interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

/** `AnyValue` in canonical OTLP/JSON form. */
export interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  /** A number; NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (the OTLP/JSON mapping). */
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: JsonAnyValue[] };
  kvlistValue?: { values?: JsonKeyValue[] };
}

interface LongLike {
  low: number;
  high: number;
}

/** An unsigned 64-bit protobuf value (Long, number or string) as a bigint. */
export function uint64(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'object' && 'low' in (v as object)) {
    const l = v as LongLike;
    return (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  }
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v);
  return 0n;
}

/** A signed 64-bit protobuf value as a decimal string. */
export function int64String(v: unknown): string {
  return BigInt.asIntN(64, uint64(v)).toString();
}

/** Bytes as lower-case hex ('' when absent). */
export function bytesHex(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  return '';
}

function bytesBase64(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return '';
}

/** `AnyValue` message to canonical JSON; an unset value is `{}`. */
export function anyValueJson(v: unknown): JsonAnyValue {
  if (!v || typeof v !== 'object') return {};
  const m = v as PbMessage;
  // `value` is the oneof discriminator protobufjs defines on the message.
  switch (m.value) {
    case 'stringValue': return { stringValue: m.stringValue as string };
    case 'boolValue': return { boolValue: m.boolValue as boolean };
    case 'intValue': return { intValue: int64String(m.intValue) };
    case 'doubleValue': {
      const d = m.doubleValue as number;
      return { doubleValue: Number.isFinite(d) ? d : String(d) };
    }
    case 'bytesValue': return { bytesValue: bytesBase64(m.bytesValue) };
    case 'arrayValue': {
      const values = (m.arrayValue as PbMessage | null)?.values as unknown[] | undefined;
      return { arrayValue: values && values.length > 0 ? { values: values.map(anyValueJson) } : {} };
    }
    case 'kvlistValue': {
      const values = (m.kvlistValue as PbMessage | null)?.values as unknown[] | undefined;
      return { kvlistValue: values && values.length > 0 ? { values: keyValuesJson(values) } : {} };
    }
    default: return {};
  }
}

/** A repeated `KeyValue` field to canonical JSON. */
export function keyValuesJson(list: unknown): JsonKeyValue[] {
  if (!Array.isArray(list)) return [];
  const out: JsonKeyValue[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const kv = list[i] as PbMessage;
    out[i] = kv.value ? { key: kv.key as string, value: anyValueJson(kv.value) } : { key: kv.key as string };
  }
  return out;
}

/** `Resource` or `InstrumentationScope` message to canonical JSON, defaults left out. */
export function originJson(m: unknown): PbMessage {
  const out: PbMessage = {};
  if (!m || typeof m !== 'object') return out;
  const o = m as PbMessage;
  if (typeof o.name === 'string' && o.name !== '') out.name = o.name;
  if (typeof o.version === 'string' && o.version !== '') out.version = o.version;
  const attrs = o.attributes as unknown[] | undefined;
  if (attrs && attrs.length > 0) out.attributes = keyValuesJson(attrs);
  if (o.droppedAttributesCount) out.droppedAttributesCount = o.droppedAttributesCount;
  const refs = o.entityRefs as PbMessage[] | undefined;
  if (refs && refs.length > 0) {
    out.entityRefs = refs.map((r) => {
      const e: PbMessage = {};
      if (r.schemaUrl) e.schemaUrl = r.schemaUrl;
      if (r.type) e.type = r.type;
      if ((r.idKeys as unknown[] | undefined)?.length) e.idKeys = [...(r.idKeys as string[])];
      if ((r.descriptionKeys as unknown[] | undefined)?.length) e.descriptionKeys = [...(r.descriptionKeys as string[])];
      return e;
    });
  }
  return out;
}

/** `Span.Event` message to canonical JSON. */
export function eventJson(e: PbMessage): PbMessage {
  const out: PbMessage = { timeUnixNano: uint64(e.timeUnixNano).toString() };
  if (e.name) out.name = e.name;
  const attrs = e.attributes as unknown[] | undefined;
  if (attrs && attrs.length > 0) out.attributes = keyValuesJson(attrs);
  if (e.droppedAttributesCount) out.droppedAttributesCount = e.droppedAttributesCount;
  return out;
}

/** `Span.Link` message to canonical JSON. */
export function linkJson(l: PbMessage): PbMessage {
  const out: PbMessage = { traceId: bytesHex(l.traceId), spanId: bytesHex(l.spanId) };
  if (l.traceState) out.traceState = l.traceState;
  const attrs = l.attributes as unknown[] | undefined;
  if (attrs && attrs.length > 0) out.attributes = keyValuesJson(attrs);
  if (l.droppedAttributesCount) out.droppedAttributesCount = l.droppedAttributesCount;
  if (l.flags) out.flags = l.flags;
  return out;
}
