// SPDX-License-Identifier: Apache-2.0
/** Reads series from a Prometheus-compatible HTTP API (`/api/v1/query_range`). */
import { MaxproError } from '../lib/errors.js';
import type { Series } from './series-reader.js';

export interface QueryRangeOptions {
  url: string;
  query: string;
  startMs: number;
  endMs: number;
  stepS: number;
}

export async function queryRange(o: QueryRangeOptions): Promise<Series[]> {
  const u = new URL('/api/v1/query_range', o.url);
  u.searchParams.set('query', o.query);
  u.searchParams.set('start', String(o.startMs / 1000));
  u.searchParams.set('end', String(o.endMs / 1000));
  u.searchParams.set('step', String(o.stepS));
  let res: Response;
  try {
    res = await fetch(u);
  } catch (e) {
    throw new MaxproError('MAXPRO_ERR_INVALID_ARGUMENT', `cannot reach ${o.url}`, { cause: e });
  }
  const body = (await res.json().catch(() => ({}))) as { status?: string; error?: string; data?: { resultType?: string; result?: { metric: Record<string, string>; values: [number, string][] }[] } };
  if (!res.ok || body.status !== 'success') throw new MaxproError('MAXPRO_ERR_INVALID_ARGUMENT', `query_range ${JSON.stringify(o.query)} failed: HTTP ${res.status} ${body.error ?? ''}`.trim());
  if (body.data?.resultType !== 'matrix') throw new MaxproError('MAXPRO_ERR_INVALID_ARGUMENT', `query_range returned ${body.data?.resultType ?? 'nothing'}, expected a matrix`);
  return (body.data.result ?? []).map((r) => {
    const labels = Object.entries(r.metric).map(([k, v]) => `${k}="${v}"`).join(',');
    return { name: `{${labels}}`, t: r.values.map((p) => Math.round(p[0] * 1000)), v: r.values.map((p) => Number(p[1])) };
  });
}
