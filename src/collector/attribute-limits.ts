// SPDX-License-Identifier: Apache-2.0
/**
 * Attribute limits of one record, applied the way the OpenTelemetry SDKs
 * apply theirs: attributes over the count limit are dropped and counted in
 * `droppedAttributesCount`, string values are cut to the length limit. With
 * `overLimit: 'refuse'` a record over any limit is refused instead. Lengths
 * are in characters (Unicode code points), as the docs state, not UTF-16 units.
 */
import type { AnyValue, KeyValue, RejectReason } from './span-model.js';

/** The limits this module reads (see `RecordLimits` for their meaning). */
export interface AttributeLimits {
  maxAttributes: number;
  maxAttributeKeyLength: number;
  maxAttributeValueLength: number;
  maxAttributeDepth: number;
  overLimit: 'truncate' | 'refuse';
}

/** Why one record was refused; caught per record by the normalisers. */
export class Rejection {
  constructor(readonly reason: RejectReason, readonly message: string) {}
}

/** The attributes as kept, and how many were dropped. */
export interface LimitedAttributes {
  attributes: KeyValue[] | undefined;
  dropped: number;
}

/** Code points in `s`, counting no further than `stop` (enough to compare with a limit). */
export function codePointLength(s: string, stop = Infinity): number {
  // Every code point is one or two UTF-16 units: a short string needs no count.
  if (s.length <= stop) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
      else {
        const d = s.charCodeAt(i + 1);
        n++;
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
    }
    return n;
  }
  let n = 0;
  for (let i = 0; i < s.length && n <= stop; i++) {
    const c = s.charCodeAt(i);
    n++;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** The first `max` code points of `s` (a surrogate pair is never split). */
export function truncateCodePoints(s: string, max: number): string {
  let n = 0;
  let i = 0;
  while (i < s.length && n < max) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    n++;
  }
  return i >= s.length ? s : s.slice(0, i);
}

const tooLong = (s: string, max: number): boolean => s.length > max && codePointLength(s, max) > max;

/** Refuse mode: throws a {@link Rejection} for the first limit `v` breaks. */
function checkValue(v: AnyValue | undefined, depth: number, lim: AttributeLimits, where: string): void {
  if (!v) return;
  if (v.stringValue !== undefined && tooLong(v.stringValue, lim.maxAttributeValueLength)) {
    throw new Rejection('attribute_too_long', `${where}: value of ${codePointLength(v.stringValue)} characters exceeds ${lim.maxAttributeValueLength}`);
  }
  if (v.bytesValue !== undefined && v.bytesValue.length > lim.maxAttributeValueLength) {
    throw new Rejection('attribute_too_long', `${where}: bytes value exceeds ${lim.maxAttributeValueLength} characters`);
  }
  const nested = v.arrayValue?.values ?? v.kvlistValue?.values;
  if (nested) {
    if (depth + 1 > lim.maxAttributeDepth) throw new Rejection('nesting_too_deep', `${where}: value nested deeper than ${lim.maxAttributeDepth} levels`);
    if (nested.length > lim.maxAttributes) throw new Rejection('too_many_attributes', `${where}: ${nested.length} nested values exceed ${lim.maxAttributes}`);
    if (v.arrayValue) for (const x of v.arrayValue.values ?? []) checkValue(x, depth + 1, lim, where);
    else checkList(v.kvlistValue?.values, depth + 1, lim, where);
  }
}

function checkList(attrs: KeyValue[] | undefined, depth: number, lim: AttributeLimits, where: string): void {
  if (!attrs) return;
  if (attrs.length > lim.maxAttributes) throw new Rejection('too_many_attributes', `${where}: ${attrs.length} attributes exceed ${lim.maxAttributes}`);
  for (const kv of attrs) {
    if (tooLong(kv.key, lim.maxAttributeKeyLength)) throw new Rejection('attribute_too_long', `${where}: key of ${codePointLength(kv.key)} characters exceeds ${lim.maxAttributeKeyLength}`);
    checkValue(kv.value, depth, lim, `${where} attribute '${kv.key.slice(0, 64)}'`);
  }
}

/** Whether a value nests deeper than the limit anywhere inside. */
function nestedTooDeep(v: AnyValue | undefined, depth: number, max: number): boolean {
  const nested = v?.arrayValue?.values ?? v?.kvlistValue?.values;
  if (!nested) return false;
  if (depth + 1 > max) return true;
  if (v!.arrayValue) return v!.arrayValue.values!.some((x) => nestedTooDeep(x, depth + 1, max));
  return v!.kvlistValue!.values!.some((kv) => nestedTooDeep(kv.value, depth + 1, max));
}

/**
 * Truncate mode: the value within the limits, or undefined when it cannot be
 * kept (bytes over the length limit): the attribute is dropped. Depth is
 * checked by the caller, for the whole attribute.
 */
function limitValue(v: AnyValue | undefined, depth: number, lim: AttributeLimits): AnyValue | undefined {
  if (!v) return v;
  if (v.stringValue !== undefined) {
    return tooLong(v.stringValue, lim.maxAttributeValueLength) ? { stringValue: truncateCodePoints(v.stringValue, lim.maxAttributeValueLength) } : v;
  }
  if (v.bytesValue !== undefined) return v.bytesValue.length > lim.maxAttributeValueLength ? undefined : v;
  if (v.arrayValue?.values) {
    const out: AnyValue[] = [];
    for (const x of v.arrayValue.values.slice(0, lim.maxAttributes)) {
      const y = limitValue(x, depth + 1, lim);
      if (y) out.push(y);
    }
    return out.length === v.arrayValue.values.length && out.every((y, i) => y === v.arrayValue!.values![i]) ? v : { arrayValue: { values: out } };
  }
  if (v.kvlistValue?.values) {
    const { attributes } = limitList(v.kvlistValue.values, depth + 1, lim);
    return attributes === v.kvlistValue.values ? v : { kvlistValue: attributes ? { values: attributes } : {} };
  }
  return v;
}

function limitList(attrs: KeyValue[], depth: number, lim: AttributeLimits): LimitedAttributes {
  let out: KeyValue[] | undefined;
  let dropped = Math.max(0, attrs.length - lim.maxAttributes);
  const n = Math.min(attrs.length, lim.maxAttributes);
  for (let i = 0; i < n; i++) {
    const kv = attrs[i]!;
    const value = tooLong(kv.key, lim.maxAttributeKeyLength) || (depth === 0 && nestedTooDeep(kv.value, 0, lim.maxAttributeDepth))
      ? undefined : limitValue(kv.value, depth, lim);
    const keep = value !== undefined || kv.value === undefined;
    if (keep && value === kv.value) {
      out?.push(kv);
      continue;
    }
    out ??= attrs.slice(0, i);
    if (keep) out.push({ key: kv.key, value: value! });
    else dropped++;
  }
  if (!out && dropped > 0) out = attrs.slice(0, n);
  return { attributes: out ?? attrs, dropped };
}

/**
 * The attributes of one record within the limits. Refuse mode throws a
 * {@link Rejection}; truncate mode returns what is kept and the count dropped
 * (the same array when nothing changed).
 */
export function limitAttributes(attrs: KeyValue[] | undefined, lim: AttributeLimits, where: string): LimitedAttributes {
  if (!attrs || attrs.length === 0) return { attributes: attrs, dropped: 0 };
  if (lim.overLimit === 'refuse') {
    checkList(attrs, 0, lim, where);
    return { attributes: attrs, dropped: 0 };
  }
  return limitList(attrs, 0, lim);
}

/** A single value (a log body) within the limits; refuse mode throws. Undefined: it cannot be kept. */
export function limitBody(v: AnyValue | undefined, lim: AttributeLimits, where: string): AnyValue | undefined {
  if (lim.overLimit === 'refuse') {
    checkValue(v, 0, lim, where);
    return v;
  }
  return nestedTooDeep(v, 0, lim.maxAttributeDepth) ? undefined : limitValue(v, 0, lim);
}
