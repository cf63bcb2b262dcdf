// SPDX-License-Identifier: Apache-2.0
/**
 * A `maxpro collector` child for the CI's telemetry: loopback, a free port,
 * OTLP/gRPC off, its embedded store in `dataDir`, a random bearer token, and
 * its endpoint file in a private state directory (not the machine's).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/maxpro.js', import.meta.url));

export interface CiCollector {
  url: string;
  token: string;
  dataDir: string;
  /** What the store holds: accepted records by signal. */
  stats(): Promise<{ traces: number; logs: number; metrics: number }>;
  close(): Promise<void>;
}

export async function startCiCollector(dataDir: string, timeoutMs = 20_000): Promise<CiCollector> {
  const token = randomBytes(24).toString('hex');
  const stateDir = mkdtempSync(join(tmpdir(), 'maxpro-ci-collector-'));
  const child = spawn(process.execPath, [BIN, 'collector', '--host', '127.0.0.1', '--port', '0', '--grpc-port', 'off', '--data-dir', dataDir, '--max-size', '256MiB'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MAXPRO_COLLECTOR_TOKEN: token, MAXPRO_STATE_DIR: stateDir },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const cleanup = (): void => rmSync(stateDir, { recursive: true, force: true });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`maxpro collector did not start within ${timeoutMs} ms: ${out.trim().slice(-300)}`)), timeoutMs);
    const check = (): void => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`maxpro collector exited ${code}: ${out.trim().slice(-300)}`));
    });
  }).catch((err: unknown) => {
    child.kill('SIGKILL');
    cleanup();
    throw err;
  });
  return {
    url, token, dataDir,
    async stats() {
      const res = await fetch(`${url}/api/stats`, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`${url}/api/stats answered ${res.status}`);
      const body = await res.json() as { store: { spans?: number; logs?: number; metrics?: number } };
      return { traces: body.store.spans ?? 0, logs: body.store.logs ?? 0, metrics: body.store.metrics ?? 0 };
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      cleanup();
    },
  };
}
