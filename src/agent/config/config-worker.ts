// SPDX-License-Identifier: Apache-2.0
/**
 * Resolves the configuration (YAML parse, schema validation, overrides) in a
 * short-lived worker thread. The schema and YAML libraries then live only in
 * the worker's isolate, which is freed when it exits: the long-running agent
 * does not carry them (about 20 MiB of RSS). Errors come back as the same
 * ConfigError, with file and line.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../../lib/errors.js';
import type { ConfigSources, ResolvedConfig } from './config-overrides.js';

type Reply =
  | { ok: true; resolved: ResolvedConfig }
  | { ok: false; configError: boolean; message: string; file?: string; line?: number };

/** resolveConfig(), run in a worker thread. May reject with ConfigError. */
export function resolveConfigInWorker(sources: ConfigSources): Promise<ResolvedConfig> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { sources: { ...sources, env: { ...(sources.env ?? process.env) } } },
      // The worker only parses a file: a small heap is plenty.
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
    });
    let settled = false;
    w.once('message', (r: Reply) => {
      settled = true;
      if (r.ok) resolve(r.resolved);
      else if (r.configError) reject(new ConfigError(r.message, { ...(r.file ? { file: r.file } : {}), ...(r.line ? { line: r.line } : {}) }));
      else reject(new Error(r.message));
    });
    w.once('error', (err) => { if (!settled) { settled = true; reject(err); } });
    w.once('exit', (code) => { if (!settled) reject(new Error(`config worker exited with code ${code}`)); });
  });
}

if (!isMainThread && parentPort && (workerData as { sources?: unknown } | null)?.sources) {
  const port = parentPort;
  const { resolveConfig } = await import('./config-overrides.js');
  let reply: Reply;
  try {
    reply = { ok: true, resolved: resolveConfig((workerData as { sources: ConfigSources }).sources) };
  } catch (err) {
    reply = err instanceof ConfigError
      ? { ok: false, configError: true, message: err.message, ...(err.file ? { file: err.file } : {}), ...(err.line ? { line: err.line } : {}) }
      : { ok: false, configError: false, message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
}
