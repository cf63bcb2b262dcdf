// SPDX-License-Identifier: Apache-2.0
/**
 * A real Prometheus (Debian's /usr/bin/prometheus) for integration tests:
 * loopback only, a free port, a temporary storage directory, the
 * remote-write receiver on, killed and removed by `close()`.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

/** Why Prometheus tests cannot run here, or false. */
export function prometheusSkip(): string | false {
  if (!existsSync(PROMETHEUS_BIN)) return `${PROMETHEUS_BIN} is not installed (apt-get install prometheus)`;
  return false;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface PrometheusInstance {
  readonly url: string;
  /** Instant query; returns the result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Polls a query until `accept` holds or the timeout passes; returns the last result. */
  waitFor(promql: string, accept: (r: { metric: Record<string, string>; value: [number, string] }[]) => boolean, timeoutMs?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  close(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** OpenMetrics text backfilled into the storage with `promtool tsdb create-blocks-from openmetrics` before start. */
  backfillOpenMetrics?: string;
}

/** Starts Prometheus scraping `targets` (host:port) every `scrapeIntervalS` seconds. */
export async function startPrometheus(targets: string[], scrapeIntervalS = 1, options: StartPrometheusOptions = {}): Promise<PrometheusInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-prom-'));
  if (options.backfillOpenMetrics !== undefined) {
    const file = join(dir, 'backfill.om');
    writeFileSync(file, options.backfillOpenMetrics);
    const r = spawnSync(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', file, join(dir, 'data')], { encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`promtool backfill failed (${r.status}): ${r.stdout}${r.stderr}`);
    }
  }
  const port = await freePort();
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, [
    'global:',
    `  scrape_interval: ${scrapeIntervalS}s`,
    `  scrape_timeout: ${scrapeIntervalS}s`,
    'scrape_configs:',
    '  - job_name: maxpro',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(PROMETHEUS_BIN, [
    `--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver', '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  const close = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000).unref(); });
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch { /* not yet */ }
    if (child.exitCode !== null || Date.now() > end) {
      await close();
      throw new Error(`prometheus did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const query = async (promql: string) => {
    const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await r.json() as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
    return body.data.result;
  };
  return {
    url,
    query,
    async waitFor(promql, accept, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let last = await query(promql);
      while (!accept(last) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 250));
        last = await query(promql);
      }
      return last;
    },
    close,
  };
}

/** Runs `promtool check metrics` on an exposition; returns its exit code and output. */
export function promtoolCheckMetrics(text: string): { status: number; output: string } {
  const r = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
