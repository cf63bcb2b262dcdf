// SPDX-License-Identifier: Apache-2.0
/** Copies allowed W3C baggage entries of an ingest request onto its spans as attributes. */
import { parseBaggage } from '../lib/trace-context/baggage.js';
import type { KeyValue } from './span-model.js';

/** Baggage on ingest requests that is copied onto the spans as attributes. */
export interface CollectorBaggageOptions {
  /** The baggage keys that may become span attributes. Empty (default) attaches none. */
  allowKeys?: readonly string[];
  /** Prefix for the attribute key; default '' (the baggage key itself). */
  attributePrefix?: string;
  /** Most entries attached per request; default 16. */
  maxEntries?: number;
  /** Longest value attached, in characters; default 256. */
  maxValueLength?: number;
  /** Most bytes of `baggage` headers read; default 8192. */
  maxHeaderBytes?: number;
}

/** Turns the `baggage` header values of one request into attributes; skips are counted by reason. */
export type BaggageAttributes = (header: readonly string[] | undefined) => KeyValue[];

export function createBaggageAttributes(options: CollectorBaggageOptions | undefined, count: (reason: string) => void): BaggageAttributes {
  const allow = new Set(options?.allowKeys ?? []);
  const prefix = options?.attributePrefix ?? '';
  const maxEntries = options?.maxEntries ?? 16;
  const maxValueLength = options?.maxValueLength ?? 256;
  const maxHeaderBytes = options?.maxHeaderBytes ?? 8192;
  return (header) => {
    if (!header || header.length === 0 || allow.size === 0) return [];
    const parsed = parseBaggage(header, { maxBytes: maxHeaderBytes, maxMembers: 64 });
    if (!parsed.ok) {
      count('baggage_invalid');
      return [];
    }
    const out: KeyValue[] = [];
    for (const e of parsed.entries) {
      if (!allow.has(e.key)) { count('baggage_not_allowed'); continue; }
      if (e.value.length > maxValueLength) { count('baggage_too_long'); continue; }
      if (out.length >= maxEntries) { count('baggage_too_many'); continue; }
      out.push({ key: prefix + e.key, value: { stringValue: e.value } });
    }
    return out;
  };
}
