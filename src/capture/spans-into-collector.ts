// SPDX-License-Identifier: Apache-2.0
/**
 * Loads spans into a collector over OTLP/HTTP (JSON), in batches, for
 * `maxpro replay --into`. A batch the collector sheds (429/503) is retried
 * after its Retry-After, a few times; spans it refuses are counted from its
 * partial-success answer.
 */
import { CollectorRequestError } from '../collector/collector-errors.js';
import type { StoredSpan } from '../collector/span-store.js';
import { spansToOtlpJson } from './spans-otlp.js';

export interface SpansIntoOptions {
  /** The collector's base URL (`/v1/traces` is appended). */
  url: string;
  token?: string;
  signal?: AbortSignal;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

/** What a collector took. */
export interface SpansIntoResult {
  sent: number;
  rejected: number;
  /** The collector's first partial-success message. */
  firstError?: string;
}

export interface SpansInto {
  /** Sends one batch; resolves once the collector acknowledged it. */
  send(spans: readonly StoredSpan[]): Promise<void>;
  result(): SpansIntoResult;
}

const RETRIES = 5;

/** A signal that aborts with `outer` or after `ms` (AbortSignal.any is missing before Node 20.3). */
function deadline(outer: AbortSignal | undefined, ms: number): AbortSignal {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error(`no answer within ${ms} ms`)), ms);
  timer.unref();
  outer?.addEventListener('abort', () => ctrl.abort(outer.reason), { once: true });
  return ctrl.signal;
}

export function createSpansInto(o: SpansIntoOptions): SpansInto {
  const endpoint = `${o.url.replace(/\/+$/, '')}/v1/traces`;
  const r: SpansIntoResult = { sent: 0, rejected: 0 };
  return {
    async send(spans) {
      if (spans.length === 0) return;
      const body = JSON.stringify(spansToOtlpJson(spans));
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        try {
          res = await fetch(endpoint, {
            method: 'POST', body,
            headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
            signal: deadline(o.signal, o.timeoutMs ?? 10_000),
          });
        } catch (err) {
          throw new CollectorRequestError(0, `cannot reach the collector at ${o.url}: ${(err as Error).message}`, { cause: err });
        }
        const text = await res.text();
        if ((res.status === 429 || res.status === 503) && attempt < RETRIES) {
          const after = Number(res.headers.get('retry-after') ?? '1');
          await new Promise((done) => setTimeout(done, Math.min(10, Number.isFinite(after) ? after : 1) * 1000));
          continue;
        }
        if (!res.ok) throw new CollectorRequestError(res.status, `collector at ${o.url} answered ${res.status} to ${spans.length} spans: ${text.slice(0, 300)}`);
        let rejected = 0;
        try {
          const ps = (JSON.parse(text || '{}') as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } }).partialSuccess;
          rejected = Number(ps?.rejectedSpans ?? 0);
          if (ps?.errorMessage) r.firstError ??= ps.errorMessage;
        } catch { /* an empty or non-JSON 200: all accepted */ }
        r.rejected += rejected;
        r.sent += spans.length - rejected;
        return;
      }
    },
    result: () => ({ ...r }),
  };
}
