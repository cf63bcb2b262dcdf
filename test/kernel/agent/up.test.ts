// SPDX-License-Identifier: Apache-2.0
// `maxpro up`: agent and collector in one process; the agent's OTLP export lands in the collector,
// the URLs and the live summary are printed, and SIGINT stops both.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** Runs a command to its end; resolves with its exit code and output. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv, cwd = REPO): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, timeout: 60_000 }, (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }));
  });
}

// An application with the official SDK, configured only by the standard OTEL_* variables.
const APP = `
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'up-app' }), spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
const tracer = provider.getTracer('up-app');
const parent = tracer.startSpan('checkout');
parent.end();
await provider.forceFlush();
await provider.shutdown();
`;

describe('maxpro up', { skip: kernelSkip() }, () => {
  test('prints the URLs and a live summary; events reach the collector; SIGINT stops cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-up-'));
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--listen', `127.0.0.1:${port}`, '--collector-port', '0', '--data-dir', join(dir, 'data'), '--interval', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MAXPRO_PIN_DIR: `/sys/fs/bpf/maxpro-up-test-${process.pid}`, MAXPRO_KEEP_PINNED: 'false' },
    });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    try {
      assert.ok(await waitFor(() => /probes {4}process, tcp/.test(out), 20_000), `${out}\n${err}`);
      assert.match(out, new RegExp(`metrics {3}http://127\\.0\\.0\\.1:${port}/metrics`));
      assert.match(out, /collector http:\/\/127\.0\.0\.1:\d+ {2}\(OTLP\/HTTP/);
      // Some process events of our own, kept by the embedded policy and exported over OTLP.
      for (let i = 0; i < 5; i++) spawn('/bin/true').on('error', () => undefined);
      assert.ok(await waitFor(() => /collector logs [1-9]\d*/.test(out), 15_000), out);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const exported = Number(/^maxpro_export_items_total\{exporter="otlp_logs"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
      assert.ok(exported > 0, metrics.slice(0, 2000));
      assert.match(metrics, /^maxpro_export_dropped_items_total\{exporter="otlp_logs",reason="export_failed"\} 0$/m);
      // Our scrapes are loopback TCP connections: the summary counts them although no TCP record is exported.
      assert.ok(await waitFor(() => /\| tcp [1-9]\d* connections, records \d+ in/.test(out), 15_000), out);
    } finally {
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0, err);
    }
  });

  test('a fresh node: the printed endpoint and header take an SDK\'s spans; services and traces search find them with no flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-up-app-'));
    // A state directory of its own stands for a machine where nothing ran before.
    const env: NodeJS.ProcessEnv = { ...process.env, MAXPRO_STATE_DIR: join(dir, 'state'), MAXPRO_PIN_DIR: `/sys/fs/bpf/maxpro-up-app-${process.pid}`, MAXPRO_KEEP_PINNED: 'false' };
    for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('MAXPRO_COLLECTOR') || k.startsWith('MAXPRO_AGENT')) delete env[k];
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--listen', `127.0.0.1:${port}`, '--collector-port', '0', '--data-dir', join(dir, 'data'), '--interval', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    try {
      assert.ok(await waitFor(() => /probes {4}process, tcp/.test(out), 30_000), `${out}\n${err}`);
      const appEnv = /app env {3}OTEL_EXPORTER_OTLP_ENDPOINT=(\S+) OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer \$\(cat ([^)]+)\)"/.exec(out);
      assert.ok(appEnv, `an app env line:\n${out}`);
      const token = readFileSync(appEnv[2]!, 'utf8').trim();
      assert.ok(token.length >= 16, 'a token in the printed file');
      assert.doesNotMatch(out + err, new RegExp(token), 'the token itself is never printed');
      // What a user pastes: the two variables, with the header's $(cat ...) expanded by the shell.
      const app = await run('/bin/sh', ['-c', `${appEnv[0]!.slice('app env   '.length)} exec "$NODE" --input-type=module -e "$APP"`], { ...env, NODE: process.execPath, APP });
      assert.equal(app.code, 0, app.err);
      const services = await run(process.execPath, [BIN, 'services'], env);
      assert.equal(services.code, 0, services.err);
      assert.match(services.out, /up-app/);
      const search = await run(process.execPath, [BIN, 'traces', 'search'], env);
      assert.equal(search.code, 0, search.err);
      assert.match(search.out, /up-app.*checkout|checkout.*up-app/);
    } finally {
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0, err);
    }
  });
});
