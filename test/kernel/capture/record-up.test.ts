// SPDX-License-Identifier: Apache-2.0
// 60 s of `maxpro up` under a test workload (execs, failed TCP connects, an OpenTelemetry SDK app
// sending traces through the printed `app env` line), recorded by `maxpro record`; a second recorder
// is killed with SIGKILL half-way. `maxpro replay` reproduces the recorded event and span counts,
// every replayed trace loaded into a second collector equals the stored one span by span, the killed
// capture reads to its last complete block, and a corrupted block is reported and skipped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';
import { createCollector } from '../../../src/collector/collector.js';
import { createQueryClient } from '../../../src/collector/query-client.js';
import { readCaptureBlocks, type CaptureProblem } from '../../../src/capture/capture-reader.js';
import { loadCapture } from '../../../src/capture/capture-contents.js';
import { BLOCK_HEADER_SIZE } from '../../../src/capture/capture-format.js';
import type { RecordSummary } from '../../../src/capture/capture-recorder.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const WORKLOAD = fileURLToPath(new URL('../../helpers/shop-workload.js', import.meta.url));
const MARKER = `maxpro-replay-marker-${process.pid}`;
const WINDOW_S = 60;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 120_000, maxBuffer: 64 << 20 }, (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }));
  });
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '', err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  return { out: () => out, err: () => err };
}

/** A connect to a port nothing listens on: a failed connect the TCP probe records. */
function failedConnect(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => resolve());
    s.on('connect', () => { s.destroy(); resolve(); });
  });
}

describe('maxpro record / replay on maxpro up', { skip: kernelSkip() }, () => {
  test('60 s recorded; replay reproduces counts and traces; a killed capture and a corrupt block read', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-record-up-'));
    const env: NodeJS.ProcessEnv = { ...process.env, MAXPRO_STATE_DIR: join(dir, 'state'), MAXPRO_PIN_DIR: `/sys/fs/bpf/maxpro-record-up-${process.pid}`, MAXPRO_KEEP_PINNED: 'false' };
    for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('MAXPRO_COLLECTOR') || k.startsWith('MAXPRO_AGENT')) delete env[k];
    const port = await freePort();
    const up = spawn(process.execPath, [BIN, 'up', '--listen', `127.0.0.1:${port}`, '--collector-port', '0', '--data-dir', join(dir, 'data'), '--interval', '5'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const upOut = collect(up);
    const second = await createCollector({ port: 0, grpcPort: false, dataDir: join(dir, 'second'), auth: { tokens: ['second-collector-token-0123'] }, log: () => undefined });
    const recorders: ChildProcess[] = [];
    try {
      assert.ok(await waitFor(() => /probes {4}process, tcp/.test(upOut.out()), 30_000), `${upOut.out()}\n${upOut.err()}`);
      const appEnv = /app env {3}OTEL_EXPORTER_OTLP_ENDPOINT=(\S+) OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer \$\(cat ([^)]+)\)"/.exec(upOut.out());
      assert.ok(appEnv, upOut.out());
      const collectorUrl = appEnv[1]!;
      const collectorToken = readFileSync(appEnv[2]!, 'utf8').trim();
      const appVars = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer ${collectorToken}` };

      const full = join(dir, 'full.mxcap'), killed = join(dir, 'killed.mxcap');
      // Both find the agent, the collector and their tokens from the state directory alone.
      const rec = spawn(process.execPath, [BIN, 'record', '-o', full, '--duration', `${WINDOW_S}s`, '--metrics-interval', '5s', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
      const doomed = spawn(process.execPath, [BIN, 'record', '-o', killed, '--metrics-interval', '2s'], { stdio: ['ignore', 'pipe', 'pipe'], env });
      recorders.push(rec, doomed);
      const recOut = collect(rec), doomedOut = collect(doomed);
      assert.ok(await waitFor(() => /recording to/.test(recOut.err()) && /recording to/.test(doomedOut.err()), 15_000), `${recOut.err()}\n${doomedOut.err()}`);
      const recStarted = Date.now();

      // The workload: 4 bursts of 30 traces (120 traces, 480 spans), an exec with a marker every 2 s, failed connects.
      const closed = await freePort();
      const execs: number[] = [];
      const traceIds: string[] = [];
      const bursts = [4, 18, 32, 44].map((s) => s * 1000);
      let execN = 0;
      while (Date.now() - recStarted < (WINDOW_S - 6) * 1000) {
        const elapsed = Date.now() - recStarted;
        if (bursts.length && elapsed >= bursts[0]!) {
          bursts.shift();
          const app = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            execFile(process.execPath, [WORKLOAD, JSON.stringify({ traces: 30, stepMs: 20, startMs: Date.now() })], { env: appVars, timeout: 30_000 }, (e, out, err) => resolve({ code: e ? 1 : 0, out, err }));
          });
          assert.equal(app.code, 0, app.err);
          traceIds.push(...(JSON.parse(app.out) as string[]));
        }
        spawn('/bin/true', [MARKER, String(execN)]).on('error', () => undefined);
        execs.push(execN++);
        await failedConnect(closed);
        if (Date.now() - recStarted > 30_000 && doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
        await sleep(2000);
      }
      assert.equal(traceIds.length, 120);
      const code = await new Promise<number | null>((resolve) => (rec.exitCode !== null ? resolve(rec.exitCode) : rec.on('exit', resolve)));
      assert.equal(code, 0, recOut.err());
      const recorded = JSON.parse(recOut.out()) as RecordSummary & { bytes: number };
      assert.equal(recorded.spans, 480, JSON.stringify(recorded));
      assert.equal(recorded.traces, 120);
      assert.ok(recorded.metrics >= 10, `a /metrics scrape every 5 s: ${recorded.metrics}`);
      assert.equal(statSync(full).size, recorded.bytes);

      // Replay reproduces the recorded event and span counts.
      const into = join(dir, 'second.token');
      writeFileSync(into, 'second-collector-token-0123\n', { mode: 0o600 });
      const rep = await run(['replay', full, '--speed', 'max', '--view', 'none', '--json', '--into', second.url, '--token-file', into], env);
      assert.equal(rep.code, 0, rep.err);
      const played = JSON.parse(rep.out) as { events: number; eventsByName: Record<string, number>; spans: number; traces: number; metrics: number; problems: CaptureProblem[]; into: { sent: number; rejected: number } };
      assert.equal(played.events, recorded.events);
      assert.deepEqual(played.eventsByName, recorded.eventsByName);
      assert.equal(played.spans, recorded.spans);
      assert.equal(played.traces, 120);
      assert.equal(played.metrics, recorded.metrics);
      assert.deepEqual(played.problems, []);
      assert.deepEqual(played.into, { sent: 480, rejected: 0 });
      // ... and what happened: every marked exec, and failed connects to the closed port.
      const contents = loadCapture(full);
      const marked = contents.events.filter((e) => e.name === 'process.exec' && e.args?.[1] === MARKER);
      assert.deepEqual(marked.map((e) => Number(e.args![2])).sort((x, y) => x - y), execs, 'each marked exec exactly once');
      const tcpToClosed = contents.events.filter((e) => e.probe === 'tcp' && JSON.stringify(e.attributes).includes(String(closed)));
      assert.ok(tcpToClosed.length >= execs.length, `failed connects to :${closed}: ${tcpToClosed.length}`);

      // Each replayed trace equals the stored one, span by span.
      const stored = createQueryClient({ url: collectorUrl, token: collectorToken });
      const replayed = createQueryClient({ url: second.url, token: 'second-collector-token-0123' });
      for (const id of traceIds) {
        const [a, b] = await Promise.all([stored.getTrace(id), replayed.getTrace(id)]);
        assert.equal(a.spanCount, 4);
        assert.deepEqual(b, a, `trace ${id}`);
      }

      // The killed recorder's capture: every complete block reads, only the torn tail (if any) is reported.
      assert.equal(doomed.signalCode, 'SIGKILL');
      const problems: CaptureProblem[] = [];
      const blocks = [...readCaptureBlocks(killed, (p) => problems.push(p))];
      assert.ok(problems.every((p) => p.tail) && problems.length <= 1, JSON.stringify(problems));
      assert.equal(blocks[0]?.header.kind, 'meta');
      assert.ok(!blocks.some((b) => b.header.kind === 'stats'), 'no closing stats block: it was killed');
      const killedEvents = blocks.filter((b) => b.header.kind === 'events').reduce((n, b) => n + b.records.length, 0);
      assert.ok(killedEvents > 0);
      const repKilled = await run(['replay', killed, '--speed', 'max', '--view', 'none', '--json'], env);
      assert.equal(repKilled.code, 0, repKilled.err);
      assert.equal((JSON.parse(repKilled.out) as { events: number }).events, killedEvents);

      // A corrupted block: reported with its offset and reason, skipped; the rest replays.
      const victim = [...readCaptureBlocks(full)].filter((b) => b.header.kind === 'events')[1]!;
      const bytes = readFileSync(full);
      bytes.fill(0x42, victim.offset + BLOCK_HEADER_SIZE + 4, victim.offset + BLOCK_HEADER_SIZE + 40);
      const corrupt = join(dir, 'corrupt.mxcap');
      writeFileSync(corrupt, bytes);
      const repCorrupt = await run(['replay', corrupt, '--speed', 'max', '--view', 'none', '--json'], env);
      assert.equal(repCorrupt.code, 0, repCorrupt.err);
      assert.match(repCorrupt.err, new RegExp(`damaged block at offset ${victim.offset} skipped: events block of ${victim.records.length} records: payload checksum mismatch`));
      const afterCorrupt = JSON.parse(repCorrupt.out) as { events: number; spans: number };
      assert.equal(afterCorrupt.events, recorded.events - victim.records.length);
      assert.equal(afterCorrupt.spans, 480);
    } finally {
      for (const r of recorders) if (r.exitCode === null && r.signalCode === null) r.kill('SIGKILL');
      await second.close();
      up.kill('SIGINT');
      const code = await new Promise<number | null>((r) => (up.exitCode !== null ? r(up.exitCode) : up.on('exit', r)));
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0, upOut.err());
    }
  });
});
