// SPDX-License-Identifier: Apache-2.0
/**
 * The OTLP v1 message definitions (traces, logs, metrics and their collector
 * service requests), written out from the OpenTelemetry protocol
 * specification and built into a protobufjs reflection root at load time.
 *
 * Row format: `[name, fields, oneofs?]`. `name` is relative to
 * `opentelemetry.proto.`. A field is `[repeated ]name:type=number`; a type
 * with a dot is relative to `opentelemetry.proto.` too. An enum row's fields
 * start with `enum `. Oneofs are `name(field,field)`; a `_x(x)` oneof marks a
 * proto3 `optional` field.
 */
import protobuf from 'protobufjs';

type SchemaRow = readonly [name: string, fields: string, oneofs?: string];

const SCHEMA: readonly SchemaRow[] = [
  ['collector.trace.v1.ExportTraceServiceRequest', 'repeated resourceSpans:trace.v1.ResourceSpans=1'],
  ['collector.trace.v1.ExportTraceServiceResponse', 'partialSuccess:ExportTracePartialSuccess=1'],
  ['collector.trace.v1.ExportTracePartialSuccess', 'rejectedSpans:int64=1 errorMessage:string=2'],
  ['collector.logs.v1.ExportLogsServiceRequest', 'repeated resourceLogs:logs.v1.ResourceLogs=1'],
  ['collector.logs.v1.ExportLogsServiceResponse', 'partialSuccess:ExportLogsPartialSuccess=1'],
  ['collector.logs.v1.ExportLogsPartialSuccess', 'rejectedLogRecords:int64=1 errorMessage:string=2'],
  ['collector.metrics.v1.ExportMetricsServiceRequest', 'repeated resourceMetrics:metrics.v1.ResourceMetrics=1'],
  ['collector.metrics.v1.ExportMetricsServiceResponse', 'partialSuccess:ExportMetricsPartialSuccess=1'],
  ['collector.metrics.v1.ExportMetricsPartialSuccess', 'rejectedDataPoints:int64=1 errorMessage:string=2'],
  ['trace.v1.TracesData', 'repeated resourceSpans:ResourceSpans=1'],
  ['trace.v1.ResourceSpans', 'resource:resource.v1.Resource=1 repeated scopeSpans:ScopeSpans=2 schemaUrl:string=3'],
  ['trace.v1.ScopeSpans', 'scope:common.v1.InstrumentationScope=1 repeated spans:Span=2 schemaUrl:string=3'],
  ['trace.v1.Span', 'traceId:bytes=1 spanId:bytes=2 traceState:string=3 parentSpanId:bytes=4 flags:fixed32=16 name:string=5 kind:SpanKind=6 startTimeUnixNano:fixed64=7 endTimeUnixNano:fixed64=8 repeated attributes:common.v1.KeyValue=9 droppedAttributesCount:uint32=10 repeated events:Event=11 droppedEventsCount:uint32=12 repeated links:Link=13 droppedLinksCount:uint32=14 status:Status=15'],
  ['trace.v1.Span.SpanKind', 'enum SPAN_KIND_UNSPECIFIED=0 SPAN_KIND_INTERNAL=1 SPAN_KIND_SERVER=2 SPAN_KIND_CLIENT=3 SPAN_KIND_PRODUCER=4 SPAN_KIND_CONSUMER=5'],
  ['trace.v1.Span.Event', 'timeUnixNano:fixed64=1 name:string=2 repeated attributes:common.v1.KeyValue=3 droppedAttributesCount:uint32=4'],
  ['trace.v1.Span.Link', 'traceId:bytes=1 spanId:bytes=2 traceState:string=3 repeated attributes:common.v1.KeyValue=4 droppedAttributesCount:uint32=5 flags:fixed32=6'],
  ['trace.v1.Status', 'message:string=2 code:StatusCode=3'],
  ['trace.v1.Status.StatusCode', 'enum STATUS_CODE_UNSET=0 STATUS_CODE_OK=1 STATUS_CODE_ERROR=2'],
  ['trace.v1.SpanFlags', 'enum SPAN_FLAGS_DO_NOT_USE=0 SPAN_FLAGS_TRACE_FLAGS_MASK=255 SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK=256 SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK=512'],
  ['common.v1.AnyValue', 'stringValue:string=1 boolValue:bool=2 intValue:int64=3 doubleValue:double=4 arrayValue:ArrayValue=5 kvlistValue:KeyValueList=6 bytesValue:bytes=7 stringValueStrindex:int32=8', 'value(stringValue,boolValue,intValue,doubleValue,arrayValue,kvlistValue,bytesValue,stringValueStrindex)'],
  ['common.v1.ArrayValue', 'repeated values:AnyValue=1'],
  ['common.v1.KeyValueList', 'repeated values:KeyValue=1'],
  ['common.v1.KeyValue', 'key:string=1 value:AnyValue=2 keyStrindex:int32=3'],
  ['common.v1.InstrumentationScope', 'name:string=1 version:string=2 repeated attributes:KeyValue=3 droppedAttributesCount:uint32=4'],
  ['common.v1.EntityRef', 'schemaUrl:string=1 type:string=2 repeated idKeys:string=3 repeated descriptionKeys:string=4'],
  ['resource.v1.Resource', 'repeated attributes:common.v1.KeyValue=1 droppedAttributesCount:uint32=2 repeated entityRefs:common.v1.EntityRef=3'],
  ['logs.v1.LogsData', 'repeated resourceLogs:ResourceLogs=1'],
  ['logs.v1.ResourceLogs', 'resource:resource.v1.Resource=1 repeated scopeLogs:ScopeLogs=2 schemaUrl:string=3'],
  ['logs.v1.ScopeLogs', 'scope:common.v1.InstrumentationScope=1 repeated logRecords:LogRecord=2 schemaUrl:string=3'],
  ['logs.v1.SeverityNumber', 'enum SEVERITY_NUMBER_UNSPECIFIED=0 SEVERITY_NUMBER_TRACE=1 SEVERITY_NUMBER_TRACE2=2 SEVERITY_NUMBER_TRACE3=3 SEVERITY_NUMBER_TRACE4=4 SEVERITY_NUMBER_DEBUG=5 SEVERITY_NUMBER_DEBUG2=6 SEVERITY_NUMBER_DEBUG3=7 SEVERITY_NUMBER_DEBUG4=8 SEVERITY_NUMBER_INFO=9 SEVERITY_NUMBER_INFO2=10 SEVERITY_NUMBER_INFO3=11 SEVERITY_NUMBER_INFO4=12 SEVERITY_NUMBER_WARN=13 SEVERITY_NUMBER_WARN2=14 SEVERITY_NUMBER_WARN3=15 SEVERITY_NUMBER_WARN4=16 SEVERITY_NUMBER_ERROR=17 SEVERITY_NUMBER_ERROR2=18 SEVERITY_NUMBER_ERROR3=19 SEVERITY_NUMBER_ERROR4=20 SEVERITY_NUMBER_FATAL=21 SEVERITY_NUMBER_FATAL2=22 SEVERITY_NUMBER_FATAL3=23 SEVERITY_NUMBER_FATAL4=24'],
  ['logs.v1.LogRecordFlags', 'enum LOG_RECORD_FLAGS_DO_NOT_USE=0 LOG_RECORD_FLAGS_TRACE_FLAGS_MASK=255'],
  ['logs.v1.LogRecord', 'timeUnixNano:fixed64=1 observedTimeUnixNano:fixed64=11 severityNumber:SeverityNumber=2 severityText:string=3 body:common.v1.AnyValue=5 repeated attributes:common.v1.KeyValue=6 droppedAttributesCount:uint32=7 flags:fixed32=8 traceId:bytes=9 spanId:bytes=10 eventName:string=12'],
  ['metrics.v1.MetricsData', 'repeated resourceMetrics:ResourceMetrics=1'],
  ['metrics.v1.ResourceMetrics', 'resource:resource.v1.Resource=1 repeated scopeMetrics:ScopeMetrics=2 schemaUrl:string=3'],
  ['metrics.v1.ScopeMetrics', 'scope:common.v1.InstrumentationScope=1 repeated metrics:Metric=2 schemaUrl:string=3'],
  ['metrics.v1.Metric', 'name:string=1 description:string=2 unit:string=3 gauge:Gauge=5 sum:Sum=7 histogram:Histogram=9 exponentialHistogram:ExponentialHistogram=10 summary:Summary=11 repeated metadata:common.v1.KeyValue=12', 'data(gauge,sum,histogram,exponentialHistogram,summary)'],
  ['metrics.v1.Gauge', 'repeated dataPoints:NumberDataPoint=1'],
  ['metrics.v1.Sum', 'repeated dataPoints:NumberDataPoint=1 aggregationTemporality:AggregationTemporality=2 isMonotonic:bool=3'],
  ['metrics.v1.Histogram', 'repeated dataPoints:HistogramDataPoint=1 aggregationTemporality:AggregationTemporality=2'],
  ['metrics.v1.ExponentialHistogram', 'repeated dataPoints:ExponentialHistogramDataPoint=1 aggregationTemporality:AggregationTemporality=2'],
  ['metrics.v1.Summary', 'repeated dataPoints:SummaryDataPoint=1'],
  ['metrics.v1.AggregationTemporality', 'enum AGGREGATION_TEMPORALITY_UNSPECIFIED=0 AGGREGATION_TEMPORALITY_DELTA=1 AGGREGATION_TEMPORALITY_CUMULATIVE=2'],
  ['metrics.v1.DataPointFlags', 'enum DATA_POINT_FLAGS_DO_NOT_USE=0 DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK=1'],
  ['metrics.v1.NumberDataPoint', 'repeated attributes:common.v1.KeyValue=7 startTimeUnixNano:fixed64=2 timeUnixNano:fixed64=3 asDouble:double=4 asInt:sfixed64=6 repeated exemplars:Exemplar=5 flags:uint32=8', 'value(asDouble,asInt)'],
  ['metrics.v1.HistogramDataPoint', 'repeated attributes:common.v1.KeyValue=9 startTimeUnixNano:fixed64=2 timeUnixNano:fixed64=3 count:fixed64=4 sum:double=5 repeated bucketCounts:fixed64=6 repeated explicitBounds:double=7 repeated exemplars:Exemplar=8 flags:uint32=10 min:double=11 max:double=12', '_sum(sum) _min(min) _max(max)'],
  ['metrics.v1.ExponentialHistogramDataPoint', 'repeated attributes:common.v1.KeyValue=1 startTimeUnixNano:fixed64=2 timeUnixNano:fixed64=3 count:fixed64=4 sum:double=5 scale:sint32=6 zeroCount:fixed64=7 positive:Buckets=8 negative:Buckets=9 flags:uint32=10 repeated exemplars:Exemplar=11 min:double=12 max:double=13 zeroThreshold:double=14', '_sum(sum) _min(min) _max(max)'],
  ['metrics.v1.ExponentialHistogramDataPoint.Buckets', 'offset:sint32=1 repeated bucketCounts:uint64=2'],
  ['metrics.v1.SummaryDataPoint', 'repeated attributes:common.v1.KeyValue=7 startTimeUnixNano:fixed64=2 timeUnixNano:fixed64=3 count:fixed64=4 sum:double=5 repeated quantileValues:ValueAtQuantile=6 flags:uint32=8'],
  ['metrics.v1.SummaryDataPoint.ValueAtQuantile', 'quantile:double=1 value:double=2'],
  ['metrics.v1.Exemplar', 'repeated filteredAttributes:common.v1.KeyValue=7 timeUnixNano:fixed64=2 asDouble:double=3 asInt:sfixed64=6 spanId:bytes=4 traceId:bytes=5', 'value(asDouble,asInt)'],
];

const PREFIX = 'opentelemetry.proto.';
const SCALARS = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);

function qualify(type: string): string {
  return SCALARS.has(type) || !type.includes('.') ? type : `.${PREFIX}${type}`;
}

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // Parents (e.g. `trace.v1.Span`) come before their nested types in SCHEMA.
  for (const [name, fields, oneofs] of SCHEMA) {
    const full = PREFIX + name;
    const dot = full.lastIndexOf('.');
    const parentName = full.slice(0, dot);
    const local = full.slice(dot + 1);
    const parent = root.lookup(parentName) as protobuf.Namespace | null ?? root.define(parentName);
    if (fields.startsWith('enum ')) {
      const values: Record<string, number> = {};
      for (const pair of fields.slice(5).split(' ')) {
        const [k, v] = pair.split('=');
        values[k!] = Number(v);
      }
      parent.add(new protobuf.Enum(local, values));
      continue;
    }
    const type = new protobuf.Type(local);
    for (const spec of fields.split(/ (?!\w+:)|(?<=\d) /)) {
      const repeated = spec.startsWith('repeated ');
      const body = repeated ? spec.slice(9) : spec;
      const m = /^(\w+):([\w.]+)=(\d+)$/.exec(body);
      if (!m) throw new Error(`otlp schema: bad field spec '${spec}' in ${name}`);
      type.add(new protobuf.Field(m[1]!, Number(m[3]), qualify(m[2]!), repeated ? 'repeated' : undefined));
    }
    for (const o of oneofs ? oneofs.split(' ') : []) {
      const m = /^(\w+)\(([\w,]+)\)$/.exec(o);
      if (!m) throw new Error(`otlp schema: bad oneof '${o}' in ${name}`);
      type.add(new protobuf.OneOf(m[1]!, m[2]!.split(',')));
    }
    parent.add(type);
  }
  root.resolveAll();
  return root;
}

/** The protobufjs root holding every OTLP message type. */
export const otlpRoot: protobuf.Root = buildRoot();

/** Looks up an OTLP message type by its name relative to `opentelemetry.proto.`. */
export function otlpType(name: string): protobuf.Type {
  return otlpRoot.lookupType(PREFIX + name);
}
