// SPDX-License-Identifier: Apache-2.0
/**
 * Benchmark `collector`: one collector process ingesting OTLP/HTTP protobuf.
 *
 * 1. Baseline: the raw store write rate in this process (no HTTP, no decode).
 * 2. Ingest MAXPRO_BENCH_SPANS spans (default 10M) over OTLP/HTTP protobuf
 *    into a collector child process, 16 requests in flight, 1000 spans each.
 * 3. Check, per span id, that every acknowledged span is stored.
 * 4. Trace-by-id latency over HTTP on the full store, against a direct
 *    SQLite lookup as baseline; span search latency.
 * Ends with one JSON line of figures.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { createSqliteSpanStore } from '../../src/collector/sqlite-span-store.js';
import { normalizeSpans } from '../../src/collector/span-model.js';
import { decodeExportMessage } from '../../src/lib/otlp/otlp-codec.js';
import type { PbMessage } from '../../src/lib/otlp/otlp-values.js';
import { createRequestTemplate, postTraces } from './load-generator.js';

const TOTAL = Number(process.env.MAXPRO_BENCH_SPANS ?? 10_000_000);
const CONCURRENCY = Number(process.env.MAXPRO_BENCH_CONCURRENCY ?? 16);
const LOOKUPS = Number(process.env.MAXPRO_BENCH_LOOKUPS ?? 2000);
const TOKEN = 'bench-token';
const PROCESS = fileURLToPath(new URL('../../src/collector/collector-process.js', import.meta.url));

const log = (s: string): void => { process.stderr.write(`${s}\n`); };

function procStat(pid: number): { rssMb: number; cpuSec: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { rssMb: rss, cpuSec: (Number(stat[11]) + Number(stat[12])) / 100 };
  } catch {
    return { rssMb: 0, cpuSec: 0 };
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

function httpGet(url: string, agent: Agent): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    }).on('error', reject).end();
  });
}

async function baseline(dir: string): Promise<number> {
  const template = createRequestTemplate(20, 50);
  const store = createSqliteSpanStore({ dataDir: join(dir, 'baseline'), maxBytes: 0 });
  const batches = 100;
  const batchRows = Array.from({ length: batches }, (_, b) => normalizeSpans(decodeExportMessage('traces', template.body(b + 1), 'protobuf') as unknown as PbMessage).rows);
  const t0 = performance.now();
  for (const r of batchRows) await store.write({ spans: r, logs: [], metrics: [] });
  const sec = (performance.now() - t0) / 1000;
  await store.close();
  return (batches * template.spansPerRequest) / sec;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-bench-collector-'));
  try {
    const baselineRate = await baseline(dir);
    log(`baseline: store.write in-process ${baselineRate.toFixed(0)} spans/s`);

    const dataDir = join(dir, 'data');
    const child = spawn(process.execPath, [...(process.env.MAXPRO_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.MAXPRO_BENCH_PROF] : []), ...(process.env.MAXPRO_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), PROCESS, JSON.stringify({ port: 0, dataDir, auth: { tokens: [TOKEN] }, retention: { maxBytes: 0 } })], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString().split('\n')[0]!) as { url: string }).url));
      child.once('exit', (c) => reject(new Error(`collector exited ${c}`)));
    });
    // Never leave the collector running if the bench fails part-way.
    process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let maxRss = 0;
    const sampler = setInterval(() => { maxRss = Math.max(maxRss, procStat(child.pid!).rssMb); }, 250);

    const template = createRequestTemplate(20, 50);
    const perReq = template.spansPerRequest;
    const nRequests = Math.ceil(TOTAL / perReq);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const acked: number[] = [];
    const statuses = new Map<number, number>();
    let next = 1;
    const cpu0 = procStat(child.pid!).cpuSec;
    const t0 = performance.now();
    let lastReport = t0;
    let firstMillionRate = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next <= nRequests) {
        const n = next++;
        let res = await postTraces(url, template.body(n), { authorization: `Bearer ${TOKEN}` }, agent);
        // A refusal (429/503) is retried after a pause, as OTLP clients do.
        while (res.status === 429 || res.status === 503) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 100));
          res = await postTraces(url, template.body(n), { authorization: `Bearer ${TOKEN}` }, agent);
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) acked.push(n);
        const now = performance.now();
        if (!firstMillionRate && acked.length * perReq >= 1_000_000) firstMillionRate = (acked.length * perReq) / ((now - t0) / 1000);
        if (now - lastReport > 10_000) {
          lastReport = now;
          log(`  ingested ${(acked.length * perReq / 1e6).toFixed(2)}M spans, ${((acked.length * perReq) / ((now - t0) / 1000)).toFixed(0)} spans/s, collector RSS ${procStat(child.pid!).rssMb.toFixed(0)} MB`);
        }
      }
    }));
    const ingestSec = (performance.now() - t0) / 1000;
    const ingestCpu = procStat(child.pid!).cpuSec - cpu0;
    const spansAcked = acked.length * perReq;
    const spansPerSec = spansAcked / ingestSec;
    log(`ingest: ${spansAcked} spans acknowledged in ${ingestSec.toFixed(1)} s = ${spansPerSec.toFixed(0)} spans/s ` +
      `(${(spansPerSec / baselineRate).toFixed(2)}x the in-process store baseline); statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
      `collector CPU ${ingestCpu.toFixed(1)} s (${(ingestCpu / ingestSec * 100).toFixed(0)}% of one core), max RSS ${maxRss.toFixed(0)} MB`);

    // Per-span check of every acknowledged span, on a read-only connection.
    const db = new Database(join(dataDir, 'spans.sqlite'), { readonly: true, fileMustExist: true });
    const has = db.prepare('SELECT 1 FROM spans WHERE trace_id = ? AND span_id = ?').pluck();
    let lost = 0;
    const tv = performance.now();
    for (const n of acked) {
      for (const { traceId, spanId } of template.ids(n).spanIds) if (has.get(traceId, spanId) === undefined) lost++;
    }
    const spansStored = Number(db.prepare('SELECT count(*) FROM spans').pluck().get());
    log(`verify: ${spansAcked} acknowledged spans checked by id in ${((performance.now() - tv) / 1000).toFixed(1)} s, ${lost} lost; ${spansStored} spans stored`);

    // Trace-by-id: random acknowledged traces, over HTTP and directly. A new
    // agent: the ingest sockets idled past keep-alive during the check.
    agent.destroy();
    const qagent = new Agent({ keepAlive: true, maxSockets: 1 });
    const direct = db.prepare('SELECT * FROM spans WHERE trace_id = ?');
    const sample = Array.from({ length: LOOKUPS }, () => template.ids(acked[Math.floor(Math.random() * acked.length)]!).traceIds[Math.floor(Math.random() * 20)]!);
    const httpMs: number[] = [];
    const directMs: number[] = [];
    for (const id of sample) {
      let t = performance.now();
      const r = await httpGet(`${url}/api/traces/${id.toString('hex')}`, qagent);
      httpMs.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`trace ${id.toString('hex')}: HTTP ${r.status}`);
      t = performance.now();
      if (direct.all(id).length !== 50) throw new Error('trace size mismatch');
      directMs.push(performance.now() - t);
    }
    httpMs.sort((a, b) => a - b);
    directMs.sort((a, b) => a - b);
    const searchMs: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      const r = await httpGet(`${url}/api/spans?service=bench-svc&start=1h&minDuration=${i % 2 ? '10ms' : '0'}&limit=20`, qagent);
      searchMs.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`search: HTTP ${r.status}`);
    }
    searchMs.sort((a, b) => a - b);
    log(`trace-by-id over HTTP (50-span traces, ${LOOKUPS} lookups): p50 ${percentile(httpMs, 0.5).toFixed(2)} ms, p99 ${percentile(httpMs, 0.99).toFixed(2)} ms; ` +
      `direct SQLite baseline p99 ${percentile(directMs, 0.99).toFixed(2)} ms (${(percentile(httpMs, 0.99) / Math.max(percentile(directMs, 0.99), 0.001)).toFixed(1)}x)`);
    log(`search (service + 1h window, 20 newest): p50 ${percentile(searchMs, 0.5).toFixed(2)} ms, p99 ${percentile(searchMs, 0.99).toFixed(2)} ms`);
    db.close();

    clearInterval(sampler);
    const finalRss = procStat(child.pid!).rssMb;
    maxRss = Math.max(maxRss, finalRss);
    const stats = await new Promise<{ store: { diskBytes: number } }>((resolve, reject) => {
      request(`${url}/api/stats`, { agent: qagent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => { s += c.toString(); });
        res.on('end', () => resolve(JSON.parse(s) as { store: { diskBytes: number } }));
      }).on('error', reject).end();
    });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    qagent.destroy();
    const bench = process.cpuUsage();
    log(`bench process CPU ${((bench.user + bench.system) / 1e6).toFixed(1)} s, RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`);
    process.stdout.write(`${JSON.stringify({
      bench: 'collector',
      spans_per_sec: Math.round(spansPerSec),
      lost_acknowledged: lost,
      trace_by_id_p99_ms: Number(percentile(httpMs, 0.99).toFixed(3)),
      spans_stored: spansStored,
      rss_mb: Math.round(maxRss),
      trace_by_id_p50_ms: Number(percentile(httpMs, 0.5).toFixed(3)),
      trace_by_id_direct_p99_ms: Number(percentile(directMs, 0.99).toFixed(3)),
      search_p99_ms: Number(percentile(searchMs, 0.99).toFixed(3)),
      first_million_spans_per_sec: Math.round(firstMillionRate),
      baseline_store_spans_per_sec: Math.round(baselineRate),
      ratio_vs_store_baseline: Number((spansPerSec / baselineRate).toFixed(3)),
      collector_cpu_sec: Number(ingestCpu.toFixed(1)),
      disk_bytes_per_span: Math.round(stats.store.diskBytes / Math.max(spansStored, 1)),
      refused_and_retried: (statuses.get(429) ?? 0) + (statuses.get(503) ?? 0),
      spans_target: TOTAL,
    })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
