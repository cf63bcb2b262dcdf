// SPDX-License-Identifier: Apache-2.0
// `maxpro up`: agent and collector in one process; the agent's OTLP export lands in the collector,
// the URLs and the live summary are printed, and SIGINT stops both.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));

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
});
