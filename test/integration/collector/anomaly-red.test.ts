// SPDX-License-Identifier: Apache-2.0
// A test service sends spans through the official OpenTelemetry SDK to a real
// collector: two operations at a steady latency, then injected latency on
// one. `maxpro anomaly --red` over the collector's RED series, and `maxpro
// anomaly watch` evaluating them live, must alert within MAX_STEPS steps of
// the injection, naming the service, the operation and a latency signal,
// and nothing else.
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { anomalyCommand } from '../../../src/cli/commands/anomaly.js';
import { anomalyWatchCommand } from '../../../src/cli/commands/anomaly-watch.js';
import type { Collector } from '../../../src/collector/collector.js';
import { apiGet, mustStartCollector, mustTempDir, TOKEN } from './collector-fixture.js';

const STEP = 1000;
/** Alerts must come within this many steps of the first step with injected latency. */
const MAX_STEPS = 3;
const SPANS_PER_STEP = 5;
const BASE_MS = 20;
const INJECTED_MS = 120;
const SERVICE = 'checkout';
const SLOW = 'GET /pay';
const STEADY = 'GET /cart';
const LEARN = 120;
/** Live steps before the change. */
const CHANGE_AT = 5;

/** Deterministic jitter in [-1, 1]. */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

function sdk(url: string): { tracer: Tracer; provider: NodeTracerProvider } {
  const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces`, headers: { authorization: `Bearer ${TOKEN}` } });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 1000, scheduledDelayMillis: 200 })],
  });
  return { tracer: provider.getTracer('checkout-test'), provider };
}

/** One request span of `op` that ended at `endMs` and took `latencyMs`. */
function request(tracer: Tracer, op: string, endMs: number, latencyMs: number): void {
  const span = tracer.startSpan(op, { kind: SpanKind.SERVER, startTime: endMs - latencyMs, attributes: { 'http.route': op.split(' ')[1]! } });
  span.setStatus({ code: SpanStatusCode.OK });
  span.end(endMs);
}

/** The spans of one step: SPANS_PER_STEP per operation, ending inside the step, latency with ±5% jitter repeating every 20 steps. */
function emitStep(tracer: Tracer, stepStart: number, step: number, slowMs: number | null): void {
  const k = step % 20;
  for (let j = 0; j < SPANS_PER_STEP; j++) {
    const end = stepStart + 200 + j * 150; // RED buckets by start time: every span starts inside its step
    if (slowMs !== null) request(tracer, SLOW, end, slowMs * (1 + 0.05 * jitter(k * 10 + j)));
    request(tracer, STEADY, end, BASE_MS * (1 + 0.05 * jitter(k * 10 + j + 5)));
  }
}

function tokenFile(dir: string): string {
  const f = join(dir, 'token');
  writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
  return f;
}

interface JsonAlert { t: number; labels: { service: string; operation: string; signal: string }; member: string; value: number; band: [number, number]; score: number; learnedRows: number }

test('maxpro anomaly --red alerts on injected latency within the stated steps, naming service, operation and signal', async (t) => {
  const c = await mustStartCollector(t);
  const { tracer, provider } = sdk(c.url);
  const end = Math.floor(Date.now() / STEP) * STEP - 10 * STEP;
  const steps = 300;
  const injectAt = 240;
  const start = end - steps * STEP;
  for (let k = 0; k < steps; k++) emitStep(tracer, start + k * STEP, k, k >= injectAt ? INJECTED_MS : BASE_MS);
  await provider.forceFlush();
  await provider.shutdown();

  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const code = await anomalyCommand.run([
    '--red', '--url', c.url, '--token-file', tokenFile(mustTempDir(t)), '--service', SERVICE,
    '--start', String(start / 1000), '--end', String(end / 1000), '--step', String(STEP / 1000), '--learn-rows', String(LEARN), '--json',
  ], { out, err: new PassThrough(), signal: new AbortController().signal });
  assert.equal(code, 0);
  const res = JSON.parse(text) as { series: { labels: JsonAlert['labels']; rows: number; alerts: JsonAlert[] }[] };
  // 2 operations x 5 signals, every step present.
  assert.equal(res.series.length, 10, res.series.map((s) => JSON.stringify(s.labels)).join(' '));
  for (const s of res.series) assert.equal(s.rows, steps);
  const injectT = start + injectAt * STEP;
  const fired = res.series.filter((s) => s.alerts.length > 0);
  assert.deepEqual(fired.map((s) => s.labels.signal).sort(), ['p50', 'p90', 'p99'], JSON.stringify(fired.map((s) => [s.labels, s.alerts.map((a) => [(a.t - injectT) / STEP, a.member, a.value])])));
  for (const s of fired) {
    assert.equal(s.labels.service, SERVICE);
    assert.equal(s.labels.operation, SLOW);
    const first = s.alerts[0]!;
    assert.ok(first.t >= injectT && first.t <= injectT + MAX_STEPS * STEP, `${s.labels.signal}: first alert ${(first.t - injectT) / STEP} steps after the injection`);
    // The alert explains itself.
    assert.ok(first.value > first.band[1] && first.value > 100, JSON.stringify(first));
    assert.ok(first.score >= 0.5 && first.learnedRows === injectAt);
  }
});

/**
 * Runs `maxpro anomaly watch` on a collector that has `history` steady steps, then sends live
 * steps: steady for CHANGE_AT steps, then SLOW's latency from `after` (null: SLOW stops).
 * Resolves at the first alert on stdout, or after 30 s.
 */
async function watchLive(t: TestContext, signals: string, delayS: number, after: number | null): Promise<{ c: Collector; alert: JsonAlert | undefined; changeT: number; stderr: string }> {
  const c = await mustStartCollector(t);
  const { tracer, provider } = sdk(c.url);
  t.after(() => provider.shutdown());
  const dir = mustTempDir(t);
  // History up to the current step, so the detectors start learned and the live steps follow without a hole.
  const live0 = Math.floor(Date.now() / STEP) * STEP;
  const history = 200;
  for (let k = 0; k < history; k++) emitStep(tracer, live0 - (history - k) * STEP, k, BASE_MS);
  await provider.forceFlush();

  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = new AbortController();
  const running = anomalyWatchCommand.run([
    '--url', c.url, '--token-file', tokenFile(dir), '--service', SERVICE, '--signal', signals,
    '--step', '1', '--delay', String(delayS), '--history', String(history + 5), '--learn-rows', String(LEARN), '--listen', '127.0.0.1:0', '--json',
  ], { out, err, signal: stop.signal });
  t.after(async () => { stop.abort(); await running; });

  // Live: each step's spans are sent as the step passes.
  let changeT = NaN;
  let alert: JsonAlert | undefined;
  const deadline = Date.now() + 30_000;
  for (let k = history; Date.now() < deadline && !alert; k++) {
    const stepStart = live0 + (k - history) * STEP;
    while (Date.now() < stepStart + 900) await new Promise((r) => setTimeout(r, 50));
    const changed = k - history >= CHANGE_AT;
    if (changed && Number.isNaN(changeT)) changeT = stepStart;
    emitStep(tracer, stepStart, k, changed ? after : BASE_MS);
    await provider.forceFlush();
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    if (line) alert = JSON.parse(line) as JsonAlert;
  }
  return { c, alert, changeT, stderr };
}

test('maxpro anomaly watch: live RED series, alert on stdout and as an OTLP log record, score on /metrics', async (t) => {
  const { c, alert, changeT: injectT, stderr } = await watchLive(t, 'p50,p90,p99', 1.5, INJECTED_MS);
  assert.ok(alert, `no alert within 30 s; stderr: ${stderr}`);
  assert.ok(!Number.isNaN(injectT) && alert.t >= injectT, `alert before the injection: ${JSON.stringify(alert)}`);
  assert.ok(alert.t <= injectT + MAX_STEPS * STEP, `alert ${(alert.t - injectT) / STEP} steps after the injection`);
  assert.deepEqual([alert.labels.service, alert.labels.operation], [SERVICE, SLOW]);
  assert.ok(['p50', 'p90', 'p99'].includes(alert.labels.signal));

  const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)?.[1];
  assert.ok(port, stderr);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const score = new RegExp(`^maxpro_anomaly_score\\{service="${SERVICE}",operation="GET /pay",signal="${alert.labels.signal}"\\} (\\S+)$`, 'm').exec(metrics);
  assert.ok(score, metrics);
  const steady = /^maxpro_anomaly_score\{service="checkout",operation="GET \/cart",signal="p50"\} (\S+)$/m.exec(metrics);
  assert.ok(steady && Number(steady[1]) < 0.5, metrics);
  assert.match(metrics, new RegExp(`^maxpro_anomaly_alerts_total\\{service="${SERVICE}",operation="GET /pay",signal="${alert.labels.signal}"\\} 1$`, 'm'));

  // The alert as an OTLP log record in the collector.
  let records: { record: { attributes?: { key: string; value: Record<string, unknown> }[] } }[] = [];
  for (const until = Date.now() + 10_000; Date.now() < until && records.length === 0;) {
    records = (await apiGet<{ records: typeof records }>(c, '/api/logs?service=maxpro-anomaly')).body.records;
    if (records.length === 0) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(records.length >= 1, 'no alert log record in the collector');
  const attrs = Object.fromEntries((records.at(-1)!.record.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
  assert.equal(attrs['anomaly.service'], SERVICE);
  assert.equal(attrs['anomaly.operation'], SLOW);
  assert.ok(['p50', 'p90', 'p99'].includes(String(attrs['anomaly.signal'])));
  for (const k of ['anomaly.observed', 'anomaly.expected', 'anomaly.band.low', 'anomaly.band.high', 'anomaly.score', 'anomaly.member', 'anomaly.learned_rows']) assert.ok(k in attrs, `${k} in ${JSON.stringify(attrs)}`);
});

test('maxpro anomaly watch: an operation that stops answering alerts on its rate', async (t) => {
  // A longer delay: the rate counts spans, so a step read before its spans arrived would look like an outage.
  const { alert, changeT: stopT, stderr } = await watchLive(t, 'rate', 3, null);
  assert.ok(alert, `no alert within 30 s; stderr: ${stderr}`);
  assert.deepEqual([alert.labels.service, alert.labels.operation, alert.labels.signal], [SERVICE, SLOW, 'rate'], JSON.stringify(alert));
  assert.ok(alert.t >= stopT && alert.t <= stopT + MAX_STEPS * STEP, `alert ${(alert.t - stopT) / STEP} steps after the stop`);
  assert.equal(alert.value, 0);
});
