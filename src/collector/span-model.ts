// SPDX-License-Identifier: Apache-2.0
/**
 * Turns decoded OTLP requests (canonical OTLP/JSON form) into rows for the
 * store, enforcing the per-record limits. A record that breaks a limit is
 * rejected on its own, so the rest of the request is still accepted and the
 * client learns the count through OTLP partial success.
 */
import { NOT_HEX_ID, type OtlpObject } from '../lib/otlp/otlp-codec.js';
import { bytesHex, eventJson, keyValuesJson, linkJson, originJson, uint64, type PbMessage } from '../lib/otlp/otlp-values.js';
import { limitAttributes, limitBody, Rejection } from './attribute-limits.js';

export { Rejection };

/** An OTLP `KeyValue` in canonical JSON form. */
export interface KeyValue {
  key: string;
  value?: AnyValue;
}

/** An OTLP `AnyValue` in canonical JSON form (64-bit ints as strings, bytes as base64). */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  /** NaN and infinities as "NaN", "Infinity", "-Infinity". */
  doubleValue?: number | string;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}

/** The resource or scope a record came with, stored once and shared. */
export interface Origin {
  /** Canonical JSON of the OTLP `Resource` (with `schemaUrl` folded in). */
  readonly resourceJson: string;
  /** Canonical JSON of the `InstrumentationScope` (with `schemaUrl` folded in). */
  readonly scopeJson: string;
}

/** One span ready to store. */
export interface SpanRow extends Origin {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  service: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  statusMessage: string;
  traceState: string;
  flags: number;
  /** JSON array of KeyValue, or '' for none. */
  attributesJson: string;
  /** JSON array of events, or ''. */
  eventsJson: string;
  /** JSON array of links, or ''. */
  linksJson: string;
  /** JSON `{droppedAttributesCount, droppedEventsCount, droppedLinksCount}` with the non-zero ones, or ''. */
  droppedJson: string;
}

/** One log record or metric ready to store. */
export interface RecordRow extends Origin {
  service: string;
  /** Log record time or the metric's latest data point time, 0 when absent. */
  timeNs: bigint;
  /** Metric name, or the log record's trace id ('' when absent). */
  key: string;
  /** Canonical JSON of the LogRecord or Metric. */
  json: string;
}

/** Limits on what one record may carry. Every field has a default. */
export interface RecordLimits {
  /** Most attributes on a span, event, link, resource or scope; default 128. */
  maxAttributes?: number;
  /** Longest attribute key, in characters; default 256. */
  maxAttributeKeyLength?: number;
  /** Longest string or bytes value, in characters; default 16384. */
  maxAttributeValueLength?: number;
  /** Deepest nesting of array/kvlist values; default 8. */
  maxAttributeDepth?: number;
  /** Most events per span; default 1000. */
  maxEvents?: number;
  /** Most links per span; default 1000. */
  maxLinks?: number;
  /**
   * What a record over a limit gets. `truncate` (default, as the OpenTelemetry
   * SDKs do): attributes, events and links over the count are dropped and
   * counted in the record's `dropped*Count`, strings cut to the length, values
   * nested too deep dropped and counted. `refuse`: the record is refused.
   * Metric data points have no dropped count and are always refused.
   */
  overLimit?: 'truncate' | 'refuse';
}

/** A reason a record was rejected; used as the counter label. */
export type RejectReason =
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'too_many_attributes'
  | 'attribute_too_long'
  | 'nesting_too_deep'
  | 'too_many_events'
  | 'too_many_links';

/** The result of normalising one request. */
export interface NormalizeResult<T> {
  rows: T[];
  rejected: number;
  /** Count per reason. */
  reasons: Map<RejectReason, number>;
  /** The first problem, for the partial-success message. */
  firstError: string;
}

/** {@link RecordLimits} with every default filled in. */
export interface ResolvedLimits {
  maxAttributes: number;
  maxAttributeKeyLength: number;
  maxAttributeValueLength: number;
  maxAttributeDepth: number;
  maxEvents: number;
  maxLinks: number;
  overLimit: 'truncate' | 'refuse';
}

/** Fills in the defaults of {@link RecordLimits}. */
export function resolveLimits(l?: RecordLimits | ResolvedLimits): ResolvedLimits {
  return {
    maxAttributes: l?.maxAttributes ?? 128,
    maxAttributeKeyLength: l?.maxAttributeKeyLength ?? 256,
    maxAttributeValueLength: l?.maxAttributeValueLength ?? 16384,
    maxAttributeDepth: l?.maxAttributeDepth ?? 8,
    maxEvents: l?.maxEvents ?? 1000,
    maxLinks: l?.maxLinks ?? 1000,
    overLimit: l?.overLimit ?? 'truncate',
  };
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** Limits `o.attributes` in place, adding what is dropped to `o.droppedAttributesCount`. */
function limitInPlace(o: OtlpObject, lim: ResolvedLimits, where: string): void {
  const attrs = o.attributes as KeyValue[] | undefined;
  const { attributes, dropped } = limitAttributes(attrs, lim, where);
  if (attributes !== attrs) o.attributes = attributes;
  if (dropped > 0) o.droppedAttributesCount = (typeof o.droppedAttributesCount === 'number' ? o.droppedAttributesCount : 0) + dropped;
}

/** The `service.name` resource attribute, or `unknown_service` as the SDKs default. */
export function serviceName(resource: OtlpObject | undefined): string {
  const attrs = resource?.attributes as KeyValue[] | undefined;
  const v = attrs?.find((a) => a.key === 'service.name')?.value?.stringValue;
  return v !== undefined && v !== '' ? v : 'unknown_service';
}

function originText(o: OtlpObject | undefined, schemaUrl: unknown): string {
  const copy: OtlpObject = { ...(o ?? {}) };
  if (typeof schemaUrl === 'string' && schemaUrl !== '') copy.schemaUrl = schemaUrl;
  return JSON.stringify(copy);
}

function asArray(v: unknown): OtlpObject[] {
  return Array.isArray(v) ? v as OtlpObject[] : [];
}

/** An empty {@link NormalizeResult}. */
export function newResult<T>(): NormalizeResult<T> {
  return { rows: [], rejected: 0, reasons: new Map(), firstError: '' };
}

/** Counts a rejected record and keeps the first message. */
export function rejectRecord<T>(r: NormalizeResult<T>, e: Rejection, where: string): void {
  r.rejected++;
  r.reasons.set(e.reason, (r.reasons.get(e.reason) ?? 0) + 1);
  if (r.firstError === '') r.firstError = `${where}: ${e.message}`;
}

/** The fields of one span, decoded but not yet checked (see {@link buildSpanRow}). */
export interface SpanFields {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  traceState: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  /** Canonical KeyValues; undefined when the span has none. */
  attributes: KeyValue[] | undefined;
  /** Canonical events and links. */
  events: OtlpObject[];
  links: OtlpObject[];
  statusCode: number;
  statusMessage: string;
  flags: number;
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
}

/**
 * Applies the limits to the resource and scope attributes of a ResourceSpans
 * (in place: truncated, dropped ones counted). A rejection (refuse mode)
 * applies to all its spans.
 */
export function checkOrigins(resource: OtlpObject, scopes: readonly OtlpObject[], limits: RecordLimits | ResolvedLimits): Rejection | undefined {
  const lim = resolveLimits(limits);
  try {
    limitInPlace(resource, lim, 'resource');
    for (const sc of scopes) limitInPlace(sc, lim, 'scope');
    return undefined;
  } catch (e) {
    if (!(e instanceof Rejection)) throw e;
    return e;
  }
}

/**
 * Normalises a decoded `ExportTraceServiceRequest` message (see
 * `decodeExportMessage`). `extraAttributes` (allowed baggage) are appended to
 * each span that does not already carry the key. Protobuf bodies take the
 * equivalent `decodeSpanRows` path.
 */
export function normalizeSpans(req: PbMessage, limits?: RecordLimits, extraAttributes: readonly KeyValue[] = []): NormalizeResult<SpanRow> {
  const lim = resolveLimits(limits);
  const out = newResult<SpanRow>();
  const rss = asArray(req.resourceSpans);
  for (let ri = 0; ri < rss.length; ri++) {
    const rs = rss[ri]!;
    const resource = originJson(rs.resource);
    const scopeSpans = asArray(rs.scopeSpans);
    const scopes = scopeSpans.map((ss) => originJson(ss.scope));
    const originError = checkOrigins(resource, scopes, lim);
    const service = serviceName(resource);
    const resourceJson = withSchema(resource, rs.schemaUrl);
    for (let si = 0; si < scopeSpans.length; si++) {
      const ss = scopeSpans[si]!;
      const scopeJson = withSchema(scopes[si]!, ss.schemaUrl);
      const spans = asArray(ss.spans);
      for (let i = 0; i < spans.length; i++) {
        try {
          if (originError) throw originError;
          out.rows.push(buildSpanRow(spanFields(spans[i]!), lim, service, resourceJson, scopeJson, extraAttributes));
        } catch (e) {
          if (!(e instanceof Rejection)) throw e;
          rejectRecord(out, e, `resourceSpans[${ri}].scopeSpans[${si}].spans[${i}]`);
        }
      }
    }
  }
  return out;
}

/** The resource or scope JSON with its schema URL folded in. */
export function withSchema(o: OtlpObject, schemaUrl: unknown): string {
  if (typeof schemaUrl === 'string' && schemaUrl !== '') return JSON.stringify({ ...o, schemaUrl });
  return JSON.stringify(o);
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function idBytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

function describeId(b: Uint8Array): string {
  if (b.length === NOT_HEX_ID.length && b.every((x, i) => x === NOT_HEX_ID[i])) return '(not hex)';
  return `'${bytesHex(b).slice(0, 40)}' (${b.length} bytes)`;
}

function spanFields(s: PbMessage): SpanFields {
  const rawAttrs = s.attributes as unknown[] | undefined;
  const status = s.status as PbMessage | null | undefined;
  return {
    traceId: idBytes(s.traceId),
    spanId: idBytes(s.spanId),
    parentSpanId: idBytes(s.parentSpanId),
    traceState: typeof s.traceState === 'string' ? s.traceState : '',
    name: typeof s.name === 'string' ? s.name : '',
    kind: typeof s.kind === 'number' ? s.kind : 0,
    startNs: uint64(s.startTimeUnixNano),
    endNs: uint64(s.endTimeUnixNano),
    attributes: rawAttrs && rawAttrs.length > 0 ? keyValuesJson(rawAttrs) : undefined,
    events: asArray(s.events).map(eventJson),
    links: asArray(s.links).map(linkJson),
    statusCode: typeof status?.code === 'number' ? status.code : 0,
    statusMessage: typeof status?.message === 'string' ? status.message : '',
    flags: typeof s.flags === 'number' ? s.flags : 0,
    droppedAttributesCount: typeof s.droppedAttributesCount === 'number' ? s.droppedAttributesCount : 0,
    droppedEventsCount: typeof s.droppedEventsCount === 'number' ? s.droppedEventsCount : 0,
    droppedLinksCount: typeof s.droppedLinksCount === 'number' ? s.droppedLinksCount : 0,
  };
}

/** Checks one span against the limits and builds its row; throws a {@link Rejection}. */
export function buildSpanRow(f: SpanFields, lim: ResolvedLimits, service: string, resourceJson: string, scopeJson: string, extra: readonly KeyValue[]): SpanRow {
  const tid = f.traceId;
  const sid = f.spanId;
  const pid = f.parentSpanId;
  if (tid.length !== 16 || isZero(tid)) throw new Rejection('invalid_trace_id', `traceId ${describeId(tid)} must be 16 bytes (32 hex digits), not all zero`);
  if (sid.length !== 8 || isZero(sid)) throw new Rejection('invalid_span_id', `spanId ${describeId(sid)} must be 8 bytes (16 hex digits), not all zero`);
  if (pid.length !== 0 && pid.length !== 8) throw new Rejection('invalid_parent_span_id', `parentSpanId ${describeId(pid)} must be empty or 8 bytes`);
  const limited = limitAttributes(f.attributes, lim, 'span');
  let attributes = limited.attributes;
  let droppedEvents = f.droppedEventsCount;
  let droppedLinks = f.droppedLinksCount;
  let events = f.events;
  let links = f.links;
  if (events.length > lim.maxEvents) {
    if (lim.overLimit === 'refuse') throw new Rejection('too_many_events', `${events.length} events exceed ${lim.maxEvents}`);
    droppedEvents += events.length - lim.maxEvents;
    events = events.slice(0, lim.maxEvents);
  }
  for (const e of events) limitInPlace(e, lim, `event '${String(e.name ?? '').slice(0, 64)}'`);
  if (links.length > lim.maxLinks) {
    if (lim.overLimit === 'refuse') throw new Rejection('too_many_links', `${links.length} links exceed ${lim.maxLinks}`);
    droppedLinks += links.length - lim.maxLinks;
    links = links.slice(0, lim.maxLinks);
  }
  for (const l of links) limitInPlace(l, lim, 'link');
  if (extra.length > 0) {
    const have = new Set((attributes ?? []).map((a) => a.key));
    const add = extra.filter((kv) => !have.has(kv.key));
    if (add.length > 0) attributes = [...(attributes ?? []), ...add];
  }
  const dropped: OtlpObject = {};
  if (f.droppedAttributesCount + limited.dropped) dropped.droppedAttributesCount = f.droppedAttributesCount + limited.dropped;
  if (droppedEvents) dropped.droppedEventsCount = droppedEvents;
  if (droppedLinks) dropped.droppedLinksCount = droppedLinks;
  return {
    traceId: bytesHex(tid),
    spanId: bytesHex(sid),
    parentSpanId: pid.length ? bytesHex(pid) : '',
    service,
    name: f.name,
    kind: f.kind,
    startNs: f.startNs,
    endNs: f.endNs,
    statusCode: f.statusCode,
    statusMessage: f.statusMessage,
    traceState: f.traceState,
    flags: f.flags,
    attributesJson: attributes && attributes.length > 0 ? JSON.stringify(attributes) : '',
    eventsJson: events.length > 0 ? JSON.stringify(events) : '',
    linksJson: links.length > 0 ? JSON.stringify(links) : '',
    droppedJson: Object.keys(dropped).length > 0 ? JSON.stringify(dropped) : '',
    resourceJson,
    scopeJson,
  };
}

function checkIds(o: OtlpObject): void {
  const t = o.traceId;
  const sp = o.spanId;
  if (t !== undefined && t !== '' && (typeof t !== 'string' || !HEX32.test(t))) throw new Rejection('invalid_trace_id', `traceId '${String(t).slice(0, 40)}' must be empty or 16 bytes`);
  if (sp !== undefined && sp !== '' && (typeof sp !== 'string' || !HEX16.test(sp))) throw new Rejection('invalid_span_id', `spanId '${String(sp).slice(0, 40)}' must be empty or 8 bytes`);
}

/** Normalises an `ExportLogsServiceRequest`; `rejected` counts log records. */
export function normalizeLogs(req: OtlpObject, limits?: RecordLimits): NormalizeResult<RecordRow> {
  const lim = resolveLimits(limits);
  const out = newResult<RecordRow>();
  asArray(req.resourceLogs).forEach((rl, ri) => {
    const resource = rl.resource as OtlpObject | undefined;
    const service = serviceName(resource);
    const scopeLogs = asArray(rl.scopeLogs);
    const originError = checkOrigins(resource ?? {}, scopeLogs.map((sl) => (sl.scope as OtlpObject | undefined) ?? {}), lim);
    const resourceJson = originText(resource, rl.schemaUrl);
    scopeLogs.forEach((sl, si) => {
      const scopeJson = originText(sl.scope as OtlpObject | undefined, sl.schemaUrl);
      asArray(sl.logRecords).forEach((r, i) => {
        try {
          if (originError) throw originError;
          checkIds(r);
          limitInPlace(r, lim, 'log record');
          if (r.body !== undefined) {
            const body = limitBody(r.body as AnyValue, lim, 'log body');
            if (body === undefined) throw new Rejection('nesting_too_deep', `log body nested deeper than ${lim.maxAttributeDepth} levels or bytes over ${lim.maxAttributeValueLength}`);
            r.body = body;
          }
          const time = r.timeUnixNano ?? r.observedTimeUnixNano ?? '0';
          out.rows.push({ service, timeNs: BigInt(String(time)), key: typeof r.traceId === 'string' ? r.traceId : '', json: JSON.stringify(r), resourceJson, scopeJson });
        } catch (e) {
          if (!(e instanceof Rejection)) throw e;
          rejectRecord(out, e, `resourceLogs[${ri}].scopeLogs[${si}].logRecords[${i}]`);
        }
      });
    });
  });
  return out;
}

const METRIC_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** Normalises an `ExportMetricsServiceRequest`; `rejected` counts data points. */
export function normalizeMetrics(req: OtlpObject, limits?: RecordLimits): NormalizeResult<RecordRow> {
  // Data points have no dropped count: one over a limit is refused in either mode.
  const lim = resolveLimits(limits);
  const pointLim: ResolvedLimits = { ...lim, overLimit: 'refuse' };
  const out = newResult<RecordRow>();
  asArray(req.resourceMetrics).forEach((rm, ri) => {
    const resource = rm.resource as OtlpObject | undefined;
    const service = serviceName(resource);
    const scopeMetrics = asArray(rm.scopeMetrics);
    const originError = checkOrigins(resource ?? {}, scopeMetrics.map((sm) => (sm.scope as OtlpObject | undefined) ?? {}), lim);
    const resourceJson = originText(resource, rm.schemaUrl);
    scopeMetrics.forEach((sm, si) => {
      const scopeJson = originText(sm.scope as OtlpObject | undefined, sm.schemaUrl);
      asArray(sm.metrics).forEach((m, i) => {
        let points: OtlpObject[] = [];
        for (const k of METRIC_KINDS) if (m[k]) points = asArray((m[k] as OtlpObject).dataPoints);
        try {
          if (originError) throw originError;
          let latest = 0n;
          for (const p of points) {
            limitAttributes(p.attributes as KeyValue[] | undefined, pointLim, 'data point');
            for (const e of asArray(p.exemplars)) checkIds(e);
            const t = BigInt(String(p.timeUnixNano ?? '0'));
            if (t > latest) latest = t;
          }
          out.rows.push({ service, timeNs: latest, key: typeof m.name === 'string' ? m.name : '', json: JSON.stringify(m), resourceJson, scopeJson });
        } catch (e) {
          if (!(e instanceof Rejection)) throw e;
          // OTLP counts rejected data points for metrics; a metric without
          // points still counts as one so the client sees the rejection.
          out.rejected += Math.max(points.length, 1) - 1;
          rejectRecord(out, e, `resourceMetrics[${ri}].scopeMetrics[${si}].metrics[${i}]`);
        }
      });
    });
  });
  return out;
}
