// SPDX-License-Identifier: Apache-2.0
/**
 * Process records as an OTLP logs export request (canonical object form for
 * src/lib/otlp encodeExportRequest): one log record per event, the event
 * name as `event_name` and body, every attribute as an OTLP attribute.
 */
import type { ProcessRecord } from './process-schema.js';

type AnyValue =
  | { stringValue: string } | { intValue: number } | { boolValue: boolean } | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } } | { kvlistValue: { values: { key: string; value: AnyValue }[] } };

function anyValue(v: unknown): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (v && typeof v === 'object') {
    return { kvlistValue: { values: Object.entries(v).map(([key, value]) => ({ key, value: anyValue(value) })) } };
  }
  return { stringValue: String(v) };
}

/** Builds the OTLP logs request for a batch of records. */
export function processRecordsToOtlpLogs(records: readonly ProcessRecord[], resource: Record<string, string> = {}): Record<string, unknown> {
  return {
    resourceLogs: [{
      resource: { attributes: Object.entries(resource).map(([key, value]) => ({ key, value: { stringValue: value } })) },
      scopeLogs: [{
        scope: { name: 'maxpro.process' },
        logRecords: records.map((r) => ({
          timeUnixNano: String(BigInt(Date.parse(r.time)) * 1_000_000n + BigInt(r.time.slice(23, 26) || '0')),
          eventName: r['event.name'],
          body: { stringValue: r['event.name'] },
          attributes: Object.entries(r).filter(([k]) => k !== 'time').map(([key, value]) => ({ key, value: anyValue(value) })),
        })),
      }],
    }],
  };
}
