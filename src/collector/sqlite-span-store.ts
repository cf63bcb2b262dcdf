// SPDX-License-Identifier: Apache-2.0
/**
 * The embedded span store, on SQLite (better-sqlite3). SQLite won the
 * measured comparison with DuckDB on this workload; see docs/storage-choice.md.
 *
 * Durability: the database runs in WAL mode and `write()` returns only after
 * the transaction committed, so an acknowledged batch is in the WAL file and
 * survives `kill -9` of the process. With `fsync: true` it also survives a
 * power loss (synchronous=FULL), at a cost in ingest rate.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StorageError } from './collector-errors.js';
import { InvalidArgumentError } from '../lib/errors.js';
import type { KeyValue, RecordRow } from './span-model.js';
import type {
  DependencyEdge, Operation, RedFigures, RedQuery, RedResult, RedSeries, RetentionResult,
  RecordPage, RecordQuery, SpanExport, SpanPage, SpanQuery, SpanStore, StoreBatch, StoreStats, StoredSpan,
} from './span-store.js';

/** Options of {@link createSqliteSpanStore}. */
export interface SqliteSpanStoreOptions {
  /** Directory of the database files; created when missing. */
  dataDir: string;
  /** Delete data older than this (by ingest time); default 7 days. 0 keeps everything. */
  maxAgeMs?: number;
  /** Delete the oldest data while the store is larger than this; default 10 GiB. 0 means no limit. */
  maxBytes?: number;
  /** fsync every commit (survives power loss, not only a process crash); default false. */
  fsync?: boolean;
  /** SQLite page cache, in MiB; default 16 (64 was slower to ingest and 40 MB larger in the collector bench). Bounds the store's memory. */
  cacheMiB?: number;
  /** Most spans a RED or dependency query reads; default 2,000,000. */
  maxScanRows?: number;
  /** Most candidate spans one search page examines; default 50,000. A page may then be short but carry a `nextPageToken`. */
  maxSearchScan?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS origins (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spans (
  trace_id BLOB NOT NULL,
  span_id BLOB NOT NULL,
  parent_span_id BLOB,
  service TEXT NOT NULL,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  status_code INTEGER NOT NULL,
  status_message TEXT,
  trace_state TEXT,
  flags INTEGER,
  resource_id INTEGER NOT NULL,
  scope_id INTEGER NOT NULL,
  attributes TEXT,
  events TEXT,
  links TEXT,
  dropped TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS spans_trace ON spans (trace_id, span_id);
CREATE INDEX IF NOT EXISTS spans_service_start ON spans (service, start_ns);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE TABLE IF NOT EXISTS operations (
  service TEXT NOT NULL,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  PRIMARY KEY (service, name, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
  signal TEXT NOT NULL,
  service TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  key TEXT NOT NULL,
  resource_id INTEGER NOT NULL,
  scope_id INTEGER NOT NULL,
  json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_service ON records (signal, service, time_ns);
CREATE INDEX IF NOT EXISTS records_time ON records (signal, time_ns);
CREATE TABLE IF NOT EXISTS batches (
  tbl TEXT NOT NULL,
  last_rowid INTEGER NOT NULL,
  ingested_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_time ON batches (tbl, ingested_ms);
`;

const SPAN_COLUMNS = 'trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status_code, status_message, trace_state, flags, resource_id, scope_id, attributes, events, links, dropped';
const ORIGIN_CACHE_MAX = 4096;
const DELETE_CHUNK = 20000;

interface SpanDbRow {
  rowid: bigint;
  trace_id: Buffer;
  span_id: Buffer;
  parent_span_id: Buffer | null;
  service: string;
  name: string;
  kind: bigint;
  start_ns: bigint;
  end_ns: bigint;
  status_code: bigint;
  status_message: string | null;
  trace_state: string | null;
  flags: bigint | null;
  resource_id: bigint;
  scope_id: bigint;
  attributes: string | null;
  events: string | null;
  links: string | null;
  dropped: string | null;
}

/** Opens (creating when needed) the SQLite span store in `options.dataDir`. */
export function createSqliteSpanStore(options: SqliteSpanStoreOptions): SpanStore {
  return new SqliteSpanStore(options);
}

class SqliteSpanStore implements SpanStore {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #maxAgeMs: number;
  readonly #maxBytes: number;
  readonly #maxScanRows: number;
  readonly #maxSearchScan: number;
  readonly #originIds = new Map<string, number>();
  readonly #originJson = new Map<number, Record<string, unknown>>();
  readonly #knownOps = new Set<string>();
  readonly #stmts: ReturnType<SqliteSpanStore['prepare']>;
  readonly #writeTx: (batch: StoreBatch) => void;
  #closed = false;

  constructor(options: SqliteSpanStoreOptions) {
    this.#maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600 * 1000;
    this.#maxBytes = options.maxBytes ?? 10 * 1024 ** 3;
    this.#maxScanRows = options.maxScanRows ?? 2_000_000;
    this.#maxSearchScan = options.maxSearchScan ?? 50_000;
    try {
      mkdirSync(options.dataDir, { recursive: true });
      this.#path = join(options.dataDir, 'spans.sqlite');
      this.#db = new Database(this.#path);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
      this.#db.pragma(`cache_size = -${(options.cacheMiB ?? 16) * 1024}`);
      this.#db.pragma('busy_timeout = 5000');
      this.#db.exec(SCHEMA);
    } catch (err) {
      throw new StorageError(`open span store in ${options.dataDir}: ${(err as Error).message}`, { cause: err });
    }
    this.#stmts = this.prepare();
    this.#writeTx = this.#db.transaction((batch: StoreBatch) => this.writeSync(batch));
  }

  private prepare() {
    const db = this.#db;
    const read = <T extends Database.Statement>(s: T): T => s.safeIntegers(true) as T;
    return {
      insertSpan: db.prepare(`INSERT OR IGNORE INTO spans (${SPAN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
      insertRecord: db.prepare('INSERT INTO records (signal, service, time_ns, key, resource_id, scope_id, json) VALUES (?,?,?,?,?,?,?)'),
      insertOrigin: db.prepare('INSERT OR IGNORE INTO origins (hash, json) VALUES (?, ?)'),
      originId: db.prepare('SELECT id FROM origins WHERE hash = ?').pluck(),
      originJson: db.prepare('SELECT json FROM origins WHERE id = ?').pluck(),
      insertOp: db.prepare('INSERT OR IGNORE INTO operations (service, name, kind) VALUES (?,?,?)'),
      insertBatch: db.prepare('INSERT INTO batches (tbl, last_rowid, ingested_ms) VALUES (?,?,?)'),
      lastRowid: db.prepare('SELECT max(rowid) FROM spans').pluck().safeIntegers(true),
      lastRecordRowid: db.prepare('SELECT max(rowid) FROM records').pluck().safeIntegers(true),
      trace: read(db.prepare(`SELECT rowid, ${SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns, rowid`)),
      services: db.prepare('SELECT DISTINCT service FROM operations ORDER BY service').pluck(),
      operations: db.prepare('SELECT service, name, kind FROM operations ORDER BY service, name, kind'),
      operationsOf: db.prepare('SELECT service, name, kind FROM operations WHERE service = ? ORDER BY name, kind'),
    };
  }

  private originId(json: string): number {
    let id = this.#originIds.get(json);
    if (id !== undefined) return id;
    const hash = createHash('sha256').update(json).digest();
    this.#stmts.insertOrigin.run(hash, json);
    id = Number(this.#stmts.originId.get(hash));
    // Bounded: a client that sends endless distinct resources cannot grow it.
    if (this.#originIds.size >= ORIGIN_CACHE_MAX) this.#originIds.clear();
    this.#originIds.set(json, id);
    return id;
  }

  private origin(id: bigint | number): Record<string, unknown> {
    const n = Number(id);
    let o = this.#originJson.get(n);
    if (!o) {
      o = JSON.parse(String(this.#stmts.originJson.get(n) ?? '{}')) as Record<string, unknown>;
      if (this.#originJson.size >= ORIGIN_CACHE_MAX) this.#originJson.clear();
      this.#originJson.set(n, o);
    }
    return o;
  }

  private writeSync(batch: StoreBatch): void {
    const s = this.#stmts;
    const now = Date.now();
    for (const r of batch.spans) {
      s.insertSpan.run(
        Buffer.from(r.traceId, 'hex'), Buffer.from(r.spanId, 'hex'), r.parentSpanId === '' ? null : Buffer.from(r.parentSpanId, 'hex'),
        r.service, r.name, r.kind, r.startNs, r.endNs, r.statusCode, r.statusMessage || null, r.traceState || null, r.flags || null,
        this.originId(r.resourceJson), this.originId(r.scopeJson),
        r.attributesJson || null, r.eventsJson || null, r.linksJson || null, r.droppedJson || null,
      );
      const opKey = `${r.service}\u0000${r.name}\u0000${r.kind}`;
      if (!this.#knownOps.has(opKey)) {
        s.insertOp.run(r.service, r.name, r.kind);
        if (this.#knownOps.size >= ORIGIN_CACHE_MAX) this.#knownOps.clear();
        this.#knownOps.add(opKey);
      }
    }
    const insertRecords = (signal: string, rows: readonly RecordRow[]): void => {
      for (const r of rows) s.insertRecord.run(signal, r.service, r.timeNs, r.key, this.originId(r.resourceJson), this.originId(r.scopeJson), r.json);
    };
    insertRecords('logs', batch.logs);
    insertRecords('metrics', batch.metrics);
    if (batch.spans.length > 0) s.insertBatch.run('spans', s.lastRowid.get() as bigint, now);
    if (batch.logs.length + batch.metrics.length > 0) s.insertBatch.run('records', s.lastRecordRowid.get() as bigint, now);
  }

  private check(): void {
    if (this.#closed) throw new StorageError('span store: used after close');
  }

  async write(batch: StoreBatch): Promise<void> {
    this.check();
    try {
      this.#writeTx(batch);
    } catch (err) {
      throw new StorageError(`write ${batch.spans.length} spans: ${(err as Error).message}`, { cause: err });
    }
  }

  private toSpan(r: SpanDbRow): StoredSpan {
    const span: StoredSpan = {
      traceId: r.trace_id.toString('hex'),
      spanId: r.span_id.toString('hex'),
      name: r.name,
      kind: Number(r.kind),
      startTimeUnixNano: r.start_ns.toString(),
      endTimeUnixNano: r.end_ns.toString(),
      durationNs: Number(r.end_ns - r.start_ns),
      service: r.service,
      attributes: r.attributes ? JSON.parse(r.attributes) as KeyValue[] : [],
      events: r.events ? JSON.parse(r.events) as Record<string, unknown>[] : [],
      links: r.links ? JSON.parse(r.links) as Record<string, unknown>[] : [],
      status: r.status_message ? { code: Number(r.status_code), message: r.status_message } : { code: Number(r.status_code) },
      resource: this.origin(r.resource_id),
      scope: this.origin(r.scope_id),
    };
    if (r.parent_span_id) span.parentSpanId = r.parent_span_id.toString('hex');
    if (r.trace_state) span.traceState = r.trace_state;
    if (r.flags !== null) span.flags = Number(r.flags);
    if (r.dropped) Object.assign(span, JSON.parse(r.dropped) as object);
    return span;
  }

  async getTrace(traceId: string): Promise<StoredSpan[]> {
    this.check();
    if (!/^[0-9a-fA-F]{32}$/.test(traceId)) throw new InvalidArgumentError(`trace id '${traceId.slice(0, 40)}' must be 32 hex digits`);
    const rows = this.#stmts.trace.all(Buffer.from(traceId, 'hex')) as SpanDbRow[];
    return rows.map((r) => this.toSpan(r));
  }

  async searchSpans(q: SpanQuery): Promise<SpanPage> {
    this.check();
    const limit = Math.min(Math.max(q.limit ?? 20, 1), 1000);
    // Indexed conditions pick and order the candidates; the other filters
    // are evaluated per candidate, and at most maxSearchScan candidates are
    // looked at per page so a non-selective filter cannot stall the store.
    const where: string[] = [];
    const args: unknown[] = [];
    const filters: string[] = [];
    const fargs: unknown[] = [];
    if (q.service !== undefined) { where.push('service = ?'); args.push(q.service); }
    if (q.startNs !== undefined) { where.push('start_ns >= ?'); args.push(q.startNs); }
    if (q.endNs !== undefined) { where.push('start_ns < ?'); args.push(q.endNs); }
    if (q.operation !== undefined) { filters.push('name = ?'); fargs.push(q.operation); }
    if (q.minDurationNs !== undefined) { filters.push('end_ns - start_ns >= ?'); fargs.push(q.minDurationNs); }
    if (q.maxDurationNs !== undefined) { filters.push('end_ns - start_ns <= ?'); fargs.push(q.maxDurationNs); }
    if (q.statusCode !== undefined) { filters.push('status_code = ?'); fargs.push(q.statusCode); }
    for (const [k, v] of Object.entries(q.attributes ?? {})) {
      filters.push(`EXISTS (SELECT 1 FROM json_each(spans.attributes) j WHERE j.value ->> '$.key' = ? AND (
        CASE WHEN json_type(j.value, '$.value.boolValue') IS NOT NULL
          THEN (CASE WHEN j.value ->> '$.value.boolValue' THEN 'true' ELSE 'false' END)
          ELSE CAST(coalesce(j.value ->> '$.value.stringValue', j.value ->> '$.value.intValue', j.value ->> '$.value.doubleValue') AS TEXT) END) = ?)`);
      fargs.push(k, v);
    }
    if (q.pageToken) {
      const m = /^(\d+):(\d+)$/.exec(Buffer.from(q.pageToken, 'base64url').toString());
      if (!m) throw new InvalidArgumentError('pageToken is not one this collector issued');
      where.push('(start_ns, rowid) < (?, ?)');
      args.push(BigInt(m[1]!), BigInt(m[2]!));
    }
    const match = filters.length ? filters.join(' AND ') : '1';
    const sql = `SELECT rowid, start_ns, (${match}) AS m FROM spans ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_ns DESC, rowid DESC`;
    const stmt = this.#db.prepare(sql).raw(true).safeIntegers(true);
    const hits: bigint[] = [];
    let scanned = 0;
    let lastKey: [bigint, bigint] | undefined;
    let more = false;
    for (const [rowid, start, m] of stmt.iterate(...fargs, ...args) as Iterable<[bigint, bigint, bigint | null]>) {
      if (hits.length === limit || scanned === this.#maxSearchScan) {
        more = true;
        break;
      }
      scanned++;
      lastKey = [start, rowid];
      if (m === 1n) hits.push(rowid);
    }
    const byRowid = new Map<bigint, SpanDbRow>();
    if (hits.length) {
      const rows = this.#db.prepare(`SELECT rowid, ${SPAN_COLUMNS} FROM spans WHERE rowid IN (${hits.map(() => '?').join(',')})`).safeIntegers(true).all(...hits) as SpanDbRow[];
      for (const r of rows) byRowid.set(r.rowid, r);
    }
    const page: SpanPage = { spans: hits.map((id) => byRowid.get(id)).filter((r): r is SpanDbRow => r !== undefined).map((r) => this.toSpan(r)) };
    if (more && lastKey) page.nextPageToken = Buffer.from(`${lastKey[0]}:${lastKey[1]}`).toString('base64url');
    return page;
  }

  async exportSpans(after: string, limit: number): Promise<SpanExport> {
    this.check();
    if (!/^\d{1,19}$/.test(after)) throw new InvalidArgumentError(`export cursor '${after.slice(0, 30)}' must be a sequence number this collector issued`);
    if (!Number.isInteger(limit) || limit < 0 || limit > 10000) throw new InvalidArgumentError('export limit must be an integer in 0..10000');
    if (limit === 0) return { spans: [], next: String((this.#stmts.lastRowid.get() as bigint | null) ?? after) };
    const rows = this.#db.prepare(`SELECT rowid, ${SPAN_COLUMNS} FROM spans WHERE rowid > ? ORDER BY rowid LIMIT ?`).safeIntegers(true).all(BigInt(after), limit) as SpanDbRow[];
    return { spans: rows.map((r) => this.toSpan(r)), next: rows.length ? String(rows[rows.length - 1]!.rowid) : after };
  }

  async listServices(): Promise<string[]> {
    this.check();
    return this.#stmts.services.all() as string[];
  }

  async listOperations(service?: string): Promise<Operation[]> {
    this.check();
    const rows = (service === undefined ? this.#stmts.operations.all() : this.#stmts.operationsOf.all(service)) as Operation[];
    return rows.map((r) => ({ service: r.service, name: r.name, kind: Number(r.kind) }));
  }

  async redMetrics(q: RedQuery): Promise<RedResult> {
    this.check();
    if (q.endNs <= q.startNs) throw new InvalidArgumentError('RED window: end must be after start');
    if (q.stepNs <= 0n) throw new InvalidArgumentError('RED step must be positive');
    const nBuckets = Number((q.endNs - q.startNs + q.stepNs - 1n) / q.stepNs);
    if (nBuckets > 10000) throw new InvalidArgumentError(`RED window/step gives ${nBuckets} buckets; at most 10000`);
    const args: unknown[] = [q.service, q.startNs, q.endNs];
    let sql = 'SELECT name, start_ns, end_ns - start_ns AS d, status_code FROM spans WHERE service = ? AND start_ns >= ? AND start_ns < ?';
    if (q.operation !== undefined) { sql += ' AND name = ?'; args.push(q.operation); }
    sql += ` LIMIT ${this.#maxScanRows + 1}`;
    const stmt = this.#db.prepare(sql).raw(true).safeIntegers(true);
    // Per operation ('*' = all), per bucket: durations (ms) and error count.
    const acc = new Map<string, { d: number[]; e: number }[]>();
    const bucketsOf = (op: string): { d: number[]; e: number }[] => {
      let b = acc.get(op);
      if (!b) {
        b = Array.from({ length: nBuckets }, () => ({ d: [], e: 0 }));
        acc.set(op, b);
      }
      return b;
    };
    let n = 0;
    let truncated = false;
    for (const row of stmt.iterate(...args) as Iterable<[string, bigint, bigint, bigint]>) {
      if (++n > this.#maxScanRows) { truncated = true; break; }
      const [name, start, d, code] = row;
      const bi = Number((start - q.startNs) / q.stepNs);
      const ms = Number(d) / 1e6;
      for (const op of ['*', name]) {
        const b = bucketsOf(op)[bi]!;
        b.d.push(ms);
        if (code === 2n) b.e++;
      }
    }
    const stepSec = Number(q.stepNs) / 1e9;
    const windowSec = Number(q.endNs - q.startNs) / 1e9;
    const series: RedSeries[] = [];
    if (!acc.has('*')) bucketsOf('*');
    for (const [op, buckets] of [...acc.entries()].sort((a, b) => (a[0] === '*' ? -1 : b[0] === '*' ? 1 : a[0].localeCompare(b[0])))) {
      const all: number[] = [];
      let errors = 0;
      for (const b of buckets) { for (const x of b.d) all.push(x); errors += b.e; }
      series.push({
        operation: op,
        total: figures(all, errors, windowSec),
        buckets: buckets.map((b, i) => ({ startNs: (q.startNs + BigInt(i) * q.stepNs).toString(), ...figures(b.d, b.e, stepSec) })),
      });
    }
    return { service: q.service, startNs: q.startNs.toString(), endNs: q.endNs.toString(), stepNs: q.stepNs.toString(), series, truncated };
  }

  async dependencies(startNs: bigint, endNs: bigint): Promise<DependencyEdge[]> {
    this.check();
    const rows = this.#db.prepare(`
      SELECT p.service AS parent, c.service AS child, count(*) AS calls, sum(c.status_code = 2) AS errors
      FROM (SELECT trace_id, parent_span_id, service, status_code FROM spans
            WHERE start_ns >= ? AND start_ns < ? AND parent_span_id IS NOT NULL LIMIT ${this.#maxScanRows}) c
      JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
      WHERE p.service <> c.service
      GROUP BY p.service, c.service ORDER BY p.service, c.service`).all(startNs, endNs) as { parent: string; child: string; calls: number; errors: number }[];
    return rows.map((r) => ({ parent: r.parent, child: r.child, callCount: Number(r.calls), errorCount: Number(r.errors) }));
  }

  async listRecords(signal: 'logs' | 'metrics', q: RecordQuery): Promise<RecordPage> {
    this.check();
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 10000);
    const where = ['signal = ?'];
    const args: unknown[] = [signal];
    if (q.service !== undefined) { where.push('service = ?'); args.push(q.service); }
    if (q.startNs !== undefined) { where.push('time_ns >= ?'); args.push(q.startNs); }
    if (q.endNs !== undefined) { where.push('time_ns < ?'); args.push(q.endNs); }
    if (q.pageToken) {
      const m = /^(\d+):(\d+)$/.exec(Buffer.from(q.pageToken, 'base64url').toString());
      if (!m) throw new InvalidArgumentError('pageToken is not one this collector issued');
      where.push('(time_ns, rowid) < (?, ?)');
      args.push(BigInt(m[1]!), BigInt(m[2]!));
    }
    // One row past the page says whether another page follows.
    const rows = this.#db.prepare(`SELECT rowid, time_ns, service, resource_id, scope_id, json FROM records WHERE ${where.join(' AND ')}
      ORDER BY time_ns DESC, rowid DESC LIMIT ${limit + 1}`).safeIntegers(true).all(...args) as
      { rowid: bigint; time_ns: bigint; service: string; resource_id: bigint; scope_id: bigint; json: string }[];
    const more = rows.length > limit;
    if (more) rows.pop();
    const page: RecordPage = {
      records: rows.map((r) => ({ service: r.service, resource: this.origin(r.resource_id), scope: this.origin(r.scope_id), record: JSON.parse(r.json) as Record<string, unknown> })),
    };
    const last = rows[rows.length - 1];
    if (more && last) page.nextPageToken = Buffer.from(`${last.time_ns}:${last.rowid}`).toString('base64url');
    return page;
  }

  async applyRetention(): Promise<RetentionResult> {
    this.check();
    const result: RetentionResult = { deletedSpans: 0, deletedRecords: 0 };
    if (this.#maxAgeMs > 0) {
      const cutoff = Date.now() - this.#maxAgeMs;
      for (const tbl of ['spans', 'records'] as const) {
        const upTo = this.#db.prepare('SELECT max(last_rowid) FROM batches WHERE tbl = ? AND ingested_ms < ?').pluck().safeIntegers(true).get(tbl, cutoff) as bigint | null;
        if (upTo === null) continue;
        const n = this.deleteUpTo(tbl, upTo);
        if (tbl === 'spans') result.deletedSpans += n; else result.deletedRecords += n;
        this.#db.prepare('DELETE FROM batches WHERE tbl = ? AND last_rowid <= ?').run(tbl, upTo);
      }
    }
    if (this.#maxBytes > 0) {
      // Rows are inserted in ingest order, so the lowest rowids are the oldest.
      // Each step removes the oldest 5% of the rowid range (at most one chunk).
      const range = this.#db.prepare('SELECT min(rowid) AS lo, max(rowid) AS hi FROM spans').safeIntegers(true);
      for (let i = 0; i < 1000 && this.usedBytes() > this.#maxBytes; i++) {
        const { lo, hi } = range.get() as { lo: bigint | null; hi: bigint | null };
        if (lo === null || hi === null) break;
        let step = (hi - lo) / 20n;
        if (step < 1n) step = 1n;
        if (step > BigInt(DELETE_CHUNK)) step = BigInt(DELETE_CHUNK);
        result.deletedSpans += this.deleteUpTo('spans', lo + step - 1n);
      }
    }
    if (result.deletedSpans + result.deletedRecords > 0) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    return result;
  }

  private deleteUpTo(tbl: 'spans' | 'records', upTo: bigint): number {
    let total = 0;
    const del = this.#db.prepare(`DELETE FROM ${tbl} WHERE rowid IN (SELECT rowid FROM ${tbl} WHERE rowid <= ? ORDER BY rowid LIMIT ${DELETE_CHUNK})`);
    for (;;) {
      const { changes } = del.run(upTo);
      total += changes;
      if (changes < DELETE_CHUNK) return total;
    }
  }

  private usedBytes(): number {
    const pageSize = Number(this.#db.pragma('page_size', { simple: true }));
    const pages = Number(this.#db.pragma('page_count', { simple: true }));
    const free = Number(this.#db.pragma('freelist_count', { simple: true }));
    return (pages - free) * pageSize;
  }

  async stats(): Promise<StoreStats> {
    this.check();
    const count = (sql: string, ...a: unknown[]): number => Number(this.#db.prepare(sql).pluck().get(...a));
    let diskBytes = 0;
    for (const f of [this.#path, `${this.#path}-wal`]) {
      try { diskBytes += statSync(f).size; } catch { /* absent WAL */ }
    }
    return {
      spans: count('SELECT count(*) FROM spans'),
      logs: count("SELECT count(*) FROM records WHERE signal = 'logs'"),
      metrics: count("SELECT count(*) FROM records WHERE signal = 'metrics'"),
      diskBytes,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

function figures(durationsMs: number[], errors: number, seconds: number): RedFigures {
  const sorted = durationsMs.slice().sort((a, b) => a - b);
  return {
    count: sorted.length,
    rate: seconds > 0 ? sorted.length / seconds : 0,
    errorRatio: sorted.length ? errors / sorted.length : 0,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
  };
}
