// SPDX-License-Identifier: Apache-2.0
/**
 * W3C Baggage: parse, validate and format.
 * https://www.w3.org/TR/baggage/
 */
import { TraceContextError } from './trace-context-error.js';
import { trimOws } from './traceparent.js';

/** One baggage entry; `value` is percent-decoded. */
export interface BaggageEntry {
  readonly key: string;
  readonly value: string;
  /** Properties after `;`, raw: `name` or `name=value`. */
  readonly properties: readonly string[];
}

/** Limits for {@link parseBaggage}. The defaults are the spec's minimums a platform must accept. */
export interface BaggageLimits {
  /** Most list members; default 64. */
  maxMembers?: number;
  /** Most bytes over all headers; default 8192. */
  maxBytes?: number;
}

/** Either the entries or why the header was rejected (then there are no entries). */
export type BaggageParseResult = { readonly ok: true; readonly entries: readonly BaggageEntry[] } | { readonly ok: false; readonly error: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const NOT_OCTET = /[^\x21\x23-\x24\x26-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]/gu;

/** Parses every `baggage` header of a request (several join as one list). */
export function parseBaggage(header: string | readonly string[] | undefined, limits?: BaggageLimits): BaggageParseResult {
  const values = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  const maxMembers = limits?.maxMembers ?? 64;
  const maxBytes = limits?.maxBytes ?? 8192;
  const joined = values.join(',');
  const bytes = Buffer.byteLength(joined);
  if (bytes > maxBytes) return { ok: false, error: `${bytes} bytes; at most ${maxBytes} allowed` };
  const entries: BaggageEntry[] = [];
  const parts = joined.split(',');
  for (let i = 0; i < parts.length; i++) {
    const member = trimOws(parts[i]!);
    if (member === '') continue;
    const [kv, ...props] = member.split(';');
    const eq = kv!.indexOf('=');
    if (eq < 0) return { ok: false, error: `member ${i + 1} has no '='` };
    const key = trimOws(kv!.slice(0, eq));
    const raw = trimOws(kv!.slice(eq + 1));
    if (!TOKEN.test(key)) return { ok: false, error: `member ${i + 1}: invalid key '${key.slice(0, 40)}'` };
    if (!VALUE.test(raw)) return { ok: false, error: `member ${i + 1}: invalid characters in the value of '${key}'` };
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return { ok: false, error: `member ${i + 1}: bad percent-encoding in the value of '${key}'` };
    }
    const properties = props.map(trimOws).filter((p) => p !== '');
    for (const p of properties) {
      const pk = trimOws(p.split('=')[0]!);
      if (!TOKEN.test(pk)) return { ok: false, error: `member ${i + 1}: invalid property '${p.slice(0, 40)}'` };
    }
    if (entries.length === maxMembers) return { ok: false, error: `more than ${maxMembers} members` };
    entries.push({ key, value, properties });
  }
  return { ok: true, entries };
}

/** Like {@link parseBaggage} but throws a {@link TraceContextError}. */
export function parseBaggageOrThrow(header: string | readonly string[] | undefined, limits?: BaggageLimits): readonly BaggageEntry[] {
  const r = parseBaggage(header, limits);
  if (!r.ok) throw new TraceContextError('baggage', r.error);
  return r.entries;
}

/** Formats entries as one header value, percent-encoding values. */
export function formatBaggage(entries: readonly BaggageEntry[]): string {
  return entries.map((e) => {
    if (!TOKEN.test(e.key)) throw new TraceContextError('baggage', `invalid key '${e.key.slice(0, 40)}'`);
    const value = e.value.replace(NOT_OCTET, (c) => encodeURIComponent(c).replace(/[!'()*]/g, (x) => `%${x.charCodeAt(0).toString(16).toUpperCase()}`));
    return [`${e.key}=${value}`, ...e.properties].join(';');
  }).join(',');
}
