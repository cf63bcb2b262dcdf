// SPDX-License-Identifier: Apache-2.0
/**
 * Sends one CI run as OTLP/HTTP protobuf with the official OpenTelemetry JS
 * SDK: a trace (the run, its steps, each test file, suite and test with its
 * real duration and end time, each BPF program's load) and gauges (test
 * counts, suite and step durations, BPF load times, bench figures, findings).
 */
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span, Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { BpfLoadResult } from './bpf-load-report.js';
import type { Finding } from './ci-compare.js';
import type { SummaryRecord, TestRecord } from './test-record-reporter.js';

export interface StepRecord { kind: 'step'; name: string; startMs: number; durationMs: number; status: number }

export interface CiRunData {
  id: string;
  commit?: string;
  startMs: number;
  endMs: number;
  status: number;
  steps: StepRecord[];
  tests: TestRecord[];
  summary?: SummaryRecord;
  /** BPF programs loaded, and when the loading started. */
  bpf?: { startMs: number; programs: BpfLoadResult[] };
  bench: Record<string, number>;
}

export interface ExportTarget { url: string; token: string }

/** What was sent, to be checked against what the collector stored. */
export interface ExportCounts { spans: number; metricPoints: number }

const keyOf = (t: { file: string; path: string[] }): string => `${t.file}::${t.path.join(' > ')}`;

function testSpans(tracer: Tracer, root: Span, tests: TestRecord[]): number {
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const byFile = new Map<string, TestRecord[]>();
  for (const t of tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  let n = 0;
  for (const [file, records] of byFile) {
    const start = Math.min(...records.map((r) => r.endMs - r.durationMs));
    const end = Math.max(...records.map((r) => r.endMs));
    const failed = records.some((r) => r.status === 'fail');
    const fileSpan = tracer.startSpan(`test file ${file}`, { startTime: start, attributes: { 'code.filepath': file, 'test.file.tests': records.filter((r) => r.type === 'test').length } }, rootCtx);
    if (failed) fileSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'a test failed' });
    n++;
    // Parents before children: a suite's record arrives after its tests'.
    const spans = new Map<string, Span>();
    for (const r of [...records].sort((a, b) => a.path.length - b.path.length)) {
      const parent = spans.get(keyOf({ file, path: r.path.slice(0, -1) })) ?? fileSpan;
      const s = tracer.startSpan(r.path.at(-1)!, {
        startTime: r.endMs - r.durationMs,
        attributes: { 'code.filepath': file, 'test.name': r.path.join(' > '), 'test.type': r.type, 'test.status': r.status },
      }, trace.setSpan(ROOT_CONTEXT, parent));
      if (r.status === 'fail') s.setStatus({ code: SpanStatusCode.ERROR, message: r.error ?? 'failed' });
      spans.set(keyOf(r), s);
      n++;
    }
    for (const r of records) spans.get(keyOf(r))!.end(r.endMs);
    fileSpan.end(end);
  }
  return n;
}

function bpfSpans(tracer: Tracer, root: Span, bpf: NonNullable<CiRunData['bpf']>): number {
  let t = bpf.startMs;
  const total = bpf.programs.reduce((s, p) => s + p.loadMs, 0);
  const parent = tracer.startSpan('bpf load and verification', { startTime: t, attributes: { 'bpf.programs': bpf.programs.length, 'bpf.programs.failed': bpf.programs.filter((p) => !p.ok).length } }, trace.setSpan(ROOT_CONTEXT, root));
  for (const p of bpf.programs) {
    const s = tracer.startSpan(`bpf load ${p.object}/${p.program}`, { startTime: t, attributes: { 'bpf.object': p.object, 'bpf.program': p.program, 'bpf.program.type': p.type, 'bpf.load.ok': p.ok } }, trace.setSpan(ROOT_CONTEXT, parent));
    if (!p.ok) s.setStatus({ code: SpanStatusCode.ERROR, message: p.error ?? 'refused' });
    t += p.loadMs;
    s.end(t);
  }
  parent.end(bpf.startMs + total);
  return bpf.programs.length + 1;
}

export async function exportRun(run: CiRunData, findings: readonly Finding[], target: ExportTarget): Promise<ExportCounts> {
  const headers = { authorization: `Bearer ${target.token}` };
  const resource = resourceFromAttributes({
    'service.name': 'maxpro-ci', 'ci.run.id': run.id, 'ci.run.status': run.status, ...(run.commit ? { 'vcs.ref.head.revision': run.commit } : {}),
  });
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${target.url}/v1/traces`, headers }), { maxQueueSize: 100_000, maxExportBatchSize: 1000 })],
  });
  const tracer = provider.getTracer('maxpro-ci');
  const root = tracer.startSpan('ci run', { startTime: run.startMs, attributes: { 'ci.run.id': run.id, 'ci.run.status': run.status } });
  if (run.status !== 0) root.setStatus({ code: SpanStatusCode.ERROR, message: `the test command exited ${run.status}` });
  let spans = 1;
  for (const s of run.steps) {
    const span = tracer.startSpan(`step ${s.name}`, { startTime: s.startMs, attributes: { 'ci.step': s.name, 'ci.step.status': s.status } }, trace.setSpan(ROOT_CONTEXT, root));
    if (s.status !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `exited ${s.status}` });
    span.end(s.startMs + s.durationMs);
    spans++;
  }
  spans += testSpans(tracer, root, run.tests);
  if (run.bpf) spans += bpfSpans(tracer, root, run.bpf);
  root.end(run.endMs);
  await provider.forceFlush();
  await provider.shutdown();

  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${target.url}/v1/metrics`, headers }), exportIntervalMillis: 3_600_000 });
  const meters = new MeterProvider({ resource, readers: [reader] });
  const meter = meters.getMeter('maxpro-ci');
  let points = 0;
  const gauge = (name: string, unit: string, description: string, rows: [number, Record<string, string | number | boolean>][]): void => {
    if (!rows.length) return;
    const g = meter.createGauge(name, { unit, description });
    for (const [v, a] of rows) g.record(v, a);
    points += rows.length;
  };
  const counts = run.summary?.counts ?? {};
  gauge('maxpro.ci.tests', '{test}', 'Tests by outcome', Object.entries(counts).map(([k, v]) => [v, { outcome: k }]));
  if (run.summary) gauge('maxpro.ci.suite.duration', 's', 'Wall time of the test run', [[run.summary.durationMs / 1000, {}]]);
  gauge('maxpro.ci.step.duration', 's', 'Wall time of each CI step', run.steps.map((s) => [s.durationMs / 1000, { step: s.name, status: s.status }]));
  gauge('maxpro.ci.bpf.load.duration', 'ms', 'Load and verification time of each BPF program', (run.bpf?.programs ?? []).map((p) => [p.loadMs, { object: p.object, program: p.program, ok: p.ok }]));
  gauge('maxpro.ci.bench', '1', 'Benchmark figures (the bench\'s own units)', Object.entries(run.bench).map(([k, v]) => [v, { figure: k }]));
  const kinds = new Map<string, number>();
  for (const f of findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  gauge('maxpro.ci.findings', '{finding}', 'Figures flagged against previous runs', [...kinds].map(([k, v]) => [v, { kind: k }]));
  await meters.forceFlush();
  await meters.shutdown();
  return { spans, metricPoints: points };
}
