// SPDX-License-Identifier: Apache-2.0
/**
 * W3C Trace Context `tracestate`: parse, validate and format.
 * https://www.w3.org/TR/trace-context/#tracestate-header
 */
import { TraceContextError } from './trace-context-error.js';
import { trimOws } from './traceparent.js';

/** The most list members a `tracestate` may carry. */
export const TRACESTATE_MAX_MEMBERS = 32;

/** One `key=value` member, in header order. */
export type TracestateMember = readonly [key: string, value: string];

/** The outcome of parsing every `tracestate` header of a request. */
export interface TracestateParseResult {
  /** False when a rule was broken; `error` then says which and where. */
  readonly valid: boolean;
  /**
   * The members to propagate. Empty when invalid, except for duplicate keys,
   * where the first occurrence of each key is kept (the spec allows either).
   */
  readonly members: readonly TracestateMember[];
  /** True when members beyond the 32nd were dropped. */
  readonly truncated: boolean;
  readonly error?: string;
}

/** Options of {@link parseTracestate}. */
export interface TracestateOptions {
  /**
   * Key grammar. 1 (default): Trace Context Level 1, a simple key or
   * `tenant@system` with a system id of at most 14 characters. 2: Trace
   * Context Level 2, `(lcalpha / DIGIT) 0*255(lcalpha / DIGIT / _ - * / @)`.
   */
  level?: 1 | 2;
  /**
   * More than 32 members: `truncate` (default) keeps the first 32, `discard`
   * treats the header as invalid and drops it, as the strict W3C suite does.
   */
  overflow?: 'truncate' | 'discard';
}

const LEVEL2_KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
// simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
// multi-tenant-key = tenant-id "@" system-id; tenant-id 1-241 chars, system-id 1-14.
const TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** True when `key` is a valid tracestate key under the given level's grammar (default 1). */
export function isValidTracestateKey(key: string, level: 1 | 2 = 1): boolean {
  return level === 2 ? LEVEL2_KEY.test(key) : SIMPLE_KEY.test(key) || TENANT_KEY.test(key);
}

/** True when `value` is a valid tracestate value. */
export function isValidTracestateValue(value: string): boolean {
  return VALUE.test(value);
}

/**
 * Parses every `tracestate` header of a request; several headers join as one
 * comma-separated list. Empty members and white space around members are
 * allowed. More than 32 members are truncated to the first 32 unless
 * `options.overflow` is `discard`.
 */
export function parseTracestate(header: string | readonly string[] | undefined, options?: TracestateOptions): TracestateParseResult {
  const level = options?.level ?? 1;
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  const members: TracestateMember[] = [];
  const seen = new Set<string>();
  let duplicate: string | undefined;
  const parts = values.join(',').split(',');
  for (let i = 0; i < parts.length; i++) {
    const m = trimOws(parts[i]!);
    if (m === '') continue;
    const eq = m.indexOf('=');
    if (eq < 0) return invalid(`member ${i + 1} '${clip(m)}' has no '='`);
    const key = m.slice(0, eq);
    const value = m.slice(eq + 1);
    if (!isValidTracestateKey(key, level)) return invalid(`member ${i + 1}: invalid key '${clip(key)}'`);
    if (!isValidTracestateValue(value)) return invalid(`member ${i + 1}: invalid value '${clip(value)}' for key '${clip(key)}'`);
    if (seen.has(key)) {
      duplicate ??= key;
      continue;
    }
    seen.add(key);
    members.push([key, value]);
  }
  if (members.length > TRACESTATE_MAX_MEMBERS && options?.overflow === 'discard') {
    return invalid(`${members.length} members; at most ${TRACESTATE_MAX_MEMBERS} allowed`);
  }
  const truncated = members.length > TRACESTATE_MAX_MEMBERS;
  const kept = truncated ? members.slice(0, TRACESTATE_MAX_MEMBERS) : members;
  if (duplicate !== undefined) return { valid: false, members: kept, truncated, error: `duplicate key '${clip(duplicate)}'` };
  return { valid: true, members: kept, truncated };
}

/** Like {@link parseTracestate} but throws a {@link TraceContextError} when invalid. */
export function parseTracestateOrThrow(header: string | readonly string[] | undefined, options?: TracestateOptions): readonly TracestateMember[] {
  const r = parseTracestate(header, options);
  if (!r.valid) throw new TraceContextError('tracestate', r.error ?? 'invalid');
  return r.members;
}

/** Formats members as one header value; throws on an invalid key or value or more than 32 members. */
export function formatTracestate(members: readonly TracestateMember[], options?: Pick<TracestateOptions, 'level'>): string {
  if (members.length > TRACESTATE_MAX_MEMBERS) throw new TraceContextError('tracestate', `${members.length} members; at most ${TRACESTATE_MAX_MEMBERS} allowed`);
  const seen = new Set<string>();
  for (const [k, v] of members) {
    if (!isValidTracestateKey(k, options?.level ?? 1)) throw new TraceContextError('tracestate', `invalid key '${clip(k)}'`);
    if (!isValidTracestateValue(v)) throw new TraceContextError('tracestate', `invalid value for key '${clip(k)}'`);
    if (seen.has(k)) throw new TraceContextError('tracestate', `duplicate key '${clip(k)}'`);
    seen.add(k);
  }
  return members.map(([k, v]) => `${k}=${v}`).join(',');
}

/**
 * Returns members with `key` set to `value` and moved to the front, as a
 * vendor does when it updates its own entry; the last member is dropped when
 * the list would exceed 32.
 */
export function updateTracestate(members: readonly TracestateMember[], key: string, value: string): TracestateMember[] {
  if (!isValidTracestateKey(key)) throw new TraceContextError('tracestate', `invalid key '${clip(key)}'`);
  if (!isValidTracestateValue(value)) throw new TraceContextError('tracestate', `invalid value for key '${clip(key)}'`);
  const rest = members.filter(([k]) => k !== key);
  return [[key, value] as const, ...rest].slice(0, TRACESTATE_MAX_MEMBERS);
}

function invalid(error: string): TracestateParseResult {
  return { valid: false, members: [], truncated: false, error };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
