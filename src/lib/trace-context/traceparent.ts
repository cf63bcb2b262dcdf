// SPDX-License-Identifier: Apache-2.0
/**
 * W3C Trace Context `traceparent`: parse, validate and format.
 * https://www.w3.org/TR/trace-context/#traceparent-header
 */
import { TraceContextError } from './trace-context-error.js';

/** A parsed `traceparent` header. Ids are lower-case hex. */
export interface Traceparent {
  /** 0 for the current format; a higher version was parsed by its version-00 prefix. */
  readonly version: number;
  /** 32 hex digits, not all zero. */
  readonly traceId: string;
  /** 16 hex digits, not all zero (the caller's span id). */
  readonly parentId: string;
  /** 8 flag bits; bit 0 is `sampled`, bit 1 is `random`. */
  readonly traceFlags: number;
}

/** Either a value or the reason it was rejected. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const TRACEPARENT_LENGTH = 55;

/** True for 32 lower-case hex digits that are not all zero. */
export function isValidTraceId(id: string): boolean {
  return TRACE_ID.test(id) && id !== ZERO_TRACE;
}

/** True for 16 lower-case hex digits that are not all zero. */
export function isValidSpanId(id: string): boolean {
  return SPAN_ID.test(id) && id !== ZERO_SPAN;
}

/** Strips the optional white space (space, tab) HTTP allows around a value. */
export function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * Parses `traceparent`. Pass every received value: more than one header is
 * invalid. Upper-case hex, all-zero ids and version `ff` are rejected; a
 * future version is read by its version-00 fields, as the spec asks.
 */
export function parseTraceparent(header: string | readonly string[] | undefined): ParseResult<Traceparent> {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  if (values.length === 0) return { ok: false, error: 'missing' };
  if (values.length > 1) return { ok: false, error: `${values.length} headers; exactly one is allowed` };
  const s = trimOws(values[0]!);
  if (s.length < TRACEPARENT_LENGTH) return { ok: false, error: `${s.length} characters; at least ${TRACEPARENT_LENGTH} expected` };
  const version = s.slice(0, 2);
  if (!HEX2.test(version)) return { ok: false, error: `version '${version}' is not 2 lower-case hex digits` };
  if (version === 'ff') return { ok: false, error: 'version ff is forbidden' };
  if (version === '00' && s.length !== TRACEPARENT_LENGTH) return { ok: false, error: `version 00 must be exactly ${TRACEPARENT_LENGTH} characters, got ${s.length}` };
  if (version !== '00' && s.length > TRACEPARENT_LENGTH && s[TRACEPARENT_LENGTH] !== '-') {
    return { ok: false, error: `character ${TRACEPARENT_LENGTH} must be '-' after the version-00 fields` };
  }
  if (s[2] !== '-' || s[35] !== '-' || s[52] !== '-') return { ok: false, error: "fields must be separated by '-' at offsets 2, 35 and 52" };
  const traceId = s.slice(3, 35);
  const parentId = s.slice(36, 52);
  const flags = s.slice(53, 55);
  if (!TRACE_ID.test(traceId)) return { ok: false, error: `trace-id '${traceId}' is not 32 lower-case hex digits` };
  if (traceId === ZERO_TRACE) return { ok: false, error: 'trace-id is all zeros' };
  if (!SPAN_ID.test(parentId)) return { ok: false, error: `parent-id '${parentId}' is not 16 lower-case hex digits` };
  if (parentId === ZERO_SPAN) return { ok: false, error: 'parent-id is all zeros' };
  if (!HEX2.test(flags)) return { ok: false, error: `trace-flags '${flags}' is not 2 lower-case hex digits` };
  return { ok: true, value: { version: parseInt(version, 16), traceId, parentId, traceFlags: parseInt(flags, 16) } };
}

/** Like {@link parseTraceparent} but throws a {@link TraceContextError}. */
export function parseTraceparentOrThrow(header: string | readonly string[] | undefined): Traceparent {
  const r = parseTraceparent(header);
  if (!r.ok) throw new TraceContextError('traceparent', r.error);
  return r.value;
}

/** Formats a version-00 `traceparent`; throws on invalid ids or flags. */
export function formatTraceparent(tp: Pick<Traceparent, 'traceId' | 'parentId' | 'traceFlags'>): string {
  if (!isValidTraceId(tp.traceId)) throw new TraceContextError('traceparent', `invalid trace-id '${tp.traceId}'`);
  if (!isValidSpanId(tp.parentId)) throw new TraceContextError('traceparent', `invalid parent-id '${tp.parentId}'`);
  if (!Number.isInteger(tp.traceFlags) || tp.traceFlags < 0 || tp.traceFlags > 255) {
    throw new TraceContextError('traceparent', `trace-flags ${tp.traceFlags} out of range 0..255`);
  }
  return `00-${tp.traceId}-${tp.parentId}-${tp.traceFlags.toString(16).padStart(2, '0')}`;
}
