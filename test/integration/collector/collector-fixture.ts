// SPDX-License-Identifier: Apache-2.0
/** Helpers shared by the collector integration tests: a real collector on an ephemeral port. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { createCollector, type Collector, type CollectorOptions } from '../../../src/collector/collector.js';
import { sharedTestdata } from '../../helpers/testdata.js';

export const TOKEN = 'test-token-0123456789';
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
/** The shared test data, and why the tests reading it skip when it is absent. */
export const { dir: TESTDATA, skip: TESTDATA_SKIP } = sharedTestdata();

/** A fresh temporary directory, removed after the test. */
export function mustTempDir(t: TestContext, prefix = 'maxpro-collector-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a collector with a token, a temporary store and quiet logs; closed after the test. */
export async function mustStartCollector(t: TestContext, options: Partial<CollectorOptions> = {}): Promise<Collector & { logs: string[] }> {
  const logs: string[] = [];
  const c = await createCollector({ port: 0, dataDir: mustTempDir(t), auth: { tokens: [TOKEN] }, log: (l) => logs.push(l), ...options });
  t.after(() => c.close());
  return Object.assign(c, { logs });
}

/** GETs a query API path with the token and parses the JSON answer. */
export async function apiGet<T = Record<string, unknown>>(c: { url: string }, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${c.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json() as T };
}
