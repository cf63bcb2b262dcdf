// SPDX-License-Identifier: Apache-2.0
/**
 * Stored spans back into an OTLP/JSON `ExportTraceServiceRequest`, grouped by
 * resource and scope, for `maxpro replay --into` to load into a collector.
 * The stored form is canonical OTLP/JSON already; only the schema URLs the
 * store folds into resource and scope move back to their own fields.
 */
import type { StoredSpan } from '../collector/span-store.js';

type Json = Record<string, unknown>;

function split(o: Json): { body: Json; schemaUrl?: string } {
  const { schemaUrl, ...body } = o;
  return typeof schemaUrl === 'string' ? { body, schemaUrl } : { body };
}

function otlpSpan(s: StoredSpan): Json {
  const out: Json = {
    traceId: s.traceId, spanId: s.spanId, name: s.name, kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano, endTimeUnixNano: s.endTimeUnixNano,
    attributes: s.attributes, events: s.events, links: s.links, status: s.status,
  };
  if (s.parentSpanId !== undefined) out.parentSpanId = s.parentSpanId;
  if (s.traceState !== undefined) out.traceState = s.traceState;
  if (s.flags !== undefined) out.flags = s.flags;
  for (const k of ['droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount'] as const) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

/** One request holding every span given. */
export function spansToOtlpJson(spans: readonly StoredSpan[]): Json {
  const resources = new Map<string, { resource: Json; scopes: Map<string, { scope: Json; spans: Json[] }> }>();
  for (const s of spans) {
    const rKey = JSON.stringify(s.resource);
    let r = resources.get(rKey);
    if (!r) resources.set(rKey, r = { resource: s.resource, scopes: new Map() });
    const sKey = JSON.stringify(s.scope);
    let sc = r.scopes.get(sKey);
    if (!sc) r.scopes.set(sKey, sc = { scope: s.scope, spans: [] });
    sc.spans.push(otlpSpan(s));
  }
  return {
    resourceSpans: [...resources.values()].map((r) => {
      const res = split(r.resource);
      return {
        resource: res.body, ...(res.schemaUrl ? { schemaUrl: res.schemaUrl } : {}),
        scopeSpans: [...r.scopes.values()].map((sc) => {
          const scope = split(sc.scope);
          return { scope: scope.body, ...(scope.schemaUrl ? { schemaUrl: scope.schemaUrl } : {}), spans: sc.spans };
        }),
      };
    }),
  };
}
