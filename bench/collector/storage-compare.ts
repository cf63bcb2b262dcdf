// SPDX-License-Identifier: Apache-2.0
/**
 * Storage comparison for the span collector: SQLite (better-sqlite3, the
 * store the collector ships) against DuckDB (@duckdb/node-api) on the
 * collector's workload. Same rows, same batch size (one commit per batch, as
 * an acknowledged ingest request needs), same queries.
 *
 *   node dist/bench/collector/storage-compare.js   (MAXPRO_COMPARE_SPANS, default 1,000,000)
 *
 * Prints a table and one JSON line.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createSqliteSpanStore } from '../../src/collector/sqlite-span-store.js';
import { normalizeSpans, type SpanRow } from '../../src/collector/span-model.js';
import { decodeExportMessage } from '../../src/lib/otlp/otlp-codec.js';
import type { PbMessage } from '../../src/lib/otlp/otlp-values.js';
import { createRequestTemplate } from './load-generator.js';

const TOTAL = Number(process.env.MAXPRO_COMPARE_SPANS ?? 1_000_000);
const BATCH = 1000;
const LOOKUPS = 1000;
const SEARCHES = 100;

interface Figures {
  ingestSpansPerSec: number;
  traceByIdP50Ms: number;
  traceByIdP99Ms: number;
  searchP50Ms: number;
  searchP99Ms: number;
  diskBytesPerSpan: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

const template = createRequestTemplate(20, 50);
const batches = Math.ceil(TOTAL / BATCH);
function rowsOf(n: number): SpanRow[] {
  return normalizeSpans(decodeExportMessage('traces', template.body(n), 'protobuf') as unknown as PbMessage).rows;
}
const lookupIds = Array.from({ length: LOOKUPS }, () => {
  const n = 1 + Math.floor(Math.random() * batches);
  return template.ids(n).traceIds[Math.floor(Math.random() * 20)]!;
});

async function measureSqlite(dir: string): Promise<Figures> {
  const store = createSqliteSpanStore({ dataDir: dir, maxBytes: 0 });
  let writeMs = 0;
  for (let b = 1; b <= batches; b++) {
    const rows = rowsOf(b);
    const t = performance.now();
    await store.write({ spans: rows, logs: [], metrics: [] });
    writeMs += performance.now() - t;
  }
  const lookups: number[] = [];
  for (const id of lookupIds) {
    const t = performance.now();
    const spans = await store.getTrace(id.toString('hex'));
    lookups.push(performance.now() - t);
    if (spans.length !== 50) throw new Error(`sqlite: trace has ${spans.length} spans`);
  }
  const searches: number[] = [];
  const since = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  for (let i = 0; i < SEARCHES; i++) {
    const t = performance.now();
    const page = await store.searchSpans({ service: 'bench-svc', startNs: since, limit: 20, ...(i % 2 ? { minDurationNs: 10_000_000n } : {}) });
    searches.push(performance.now() - t);
    if (page.spans.length !== 20) throw new Error('sqlite: short search page');
  }
  await store.close();
  lookups.sort((a, b) => a - b);
  searches.sort((a, b) => a - b);
  return {
    ingestSpansPerSec: (batches * BATCH) / (writeMs / 1000),
    traceByIdP50Ms: pct(lookups, 0.5), traceByIdP99Ms: pct(lookups, 0.99),
    searchP50Ms: pct(searches, 0.5), searchP99Ms: pct(searches, 0.99),
    diskBytesPerSpan: dirBytes(dir) / (batches * BATCH),
  };
}

async function measureDuckdb(dir: string): Promise<Figures> {
  const instance = await DuckDBInstance.create(join(dir, 'spans.duckdb'));
  const conn = await instance.connect();
  await conn.run(`CREATE TABLE spans (
    trace_id BLOB, span_id BLOB, parent_span_id BLOB, service VARCHAR, name VARCHAR, kind INTEGER,
    start_ns BIGINT, end_ns BIGINT, status_code INTEGER, status_message VARCHAR, trace_state VARCHAR, flags INTEGER,
    resource VARCHAR, scope VARCHAR, attributes VARCHAR, events VARCHAR, links VARCHAR, dropped VARCHAR)`);
  await conn.run('CREATE INDEX spans_trace ON spans (trace_id)');
  let writeMs = 0;
  for (let b = 1; b <= batches; b++) {
    const rows = rowsOf(b);
    const t = performance.now();
    // One appender per batch: closing it commits, which an ack requires.
    const app = await conn.createAppender('spans');
    for (const r of rows) {
      app.appendBlob(Buffer.from(r.traceId, 'hex'));
      app.appendBlob(Buffer.from(r.spanId, 'hex'));
      if (r.parentSpanId) app.appendBlob(Buffer.from(r.parentSpanId, 'hex')); else app.appendNull();
      app.appendVarchar(r.service);
      app.appendVarchar(r.name);
      app.appendInteger(r.kind);
      app.appendBigInt(r.startNs);
      app.appendBigInt(r.endNs);
      app.appendInteger(r.statusCode);
      app.appendVarchar(r.statusMessage);
      app.appendVarchar(r.traceState);
      app.appendInteger(r.flags);
      app.appendVarchar(r.resourceJson);
      app.appendVarchar(r.scopeJson);
      app.appendVarchar(r.attributesJson);
      app.appendVarchar(r.eventsJson);
      app.appendVarchar(r.linksJson);
      app.appendVarchar(r.droppedJson);
      app.endRow();
    }
    app.closeSync();
    writeMs += performance.now() - t;
  }
  await conn.run('CHECKPOINT');
  const byId = await conn.prepare('SELECT * FROM spans WHERE trace_id = $1');
  const lookups: number[] = [];
  for (const id of lookupIds) {
    const t = performance.now();
    byId.bindBlob(1, id);
    const reader = await byId.runAndReadAll();
    const n = reader.getRows().length;
    lookups.push(performance.now() - t);
    if (n !== 50) throw new Error(`duckdb: trace has ${n} spans`);
  }
  const search = await conn.prepare('SELECT * FROM spans WHERE service = $1 AND start_ns >= $2 AND end_ns - start_ns >= $3 ORDER BY start_ns DESC LIMIT 20');
  const searches: number[] = [];
  const since = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  for (let i = 0; i < SEARCHES; i++) {
    const t = performance.now();
    search.bindVarchar(1, 'bench-svc');
    search.bindBigInt(2, since);
    search.bindBigInt(3, i % 2 ? 10_000_000n : 0n);
    const rows = (await search.runAndReadAll()).getRows();
    searches.push(performance.now() - t);
    if (rows.length !== 20) throw new Error('duckdb: short search page');
  }
  conn.closeSync();
  instance.closeSync();
  lookups.sort((a, b) => a - b);
  searches.sort((a, b) => a - b);
  return {
    ingestSpansPerSec: (batches * BATCH) / (writeMs / 1000),
    traceByIdP50Ms: pct(lookups, 0.5), traceByIdP99Ms: pct(lookups, 0.99),
    searchP50Ms: pct(searches, 0.5), searchP99Ms: pct(searches, 0.99),
    diskBytesPerSpan: dirBytes(dir) / (batches * BATCH),
  };
}

const root = mkdtempSync(join(tmpdir(), 'maxpro-storage-compare-'));
try {
  const sqliteDir = join(root, 'sqlite');
  const duckDir = join(root, 'duckdb');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(duckDir);
  const sqlite = await measureSqlite(sqliteDir);
  const duck = await measureDuckdb(duckDir);
  const line = (name: string, f: Figures): string =>
    `${name.padEnd(8)} ${f.ingestSpansPerSec.toFixed(0).padStart(10)} ${f.traceByIdP50Ms.toFixed(2).padStart(9)} ${f.traceByIdP99Ms.toFixed(2).padStart(9)} ${f.searchP50Ms.toFixed(2).padStart(9)} ${f.searchP99Ms.toFixed(2).padStart(9)} ${f.diskBytesPerSpan.toFixed(0).padStart(8)}`;
  process.stderr.write(`${batches * BATCH} spans, batches of ${BATCH} (one commit each)\n`);
  process.stderr.write('store    ingest/s    id p50ms  id p99ms  srch p50  srch p99  B/span\n');
  process.stderr.write(`${line('sqlite', sqlite)}\n${line('duckdb', duck)}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'collector-storage-compare', spans: batches * BATCH, sqlite, duckdb: duck })}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
