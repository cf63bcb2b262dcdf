// SPDX-License-Identifier: Apache-2.0
/** A small client for the collector's query API, used by the CLI. */
import { CollectorRequestError } from './collector-errors.js';
import { localCredential, localServiceUrl } from '../lib/http/local-endpoints.js';
import type { Operation, RedResult, SpanExport, SpanPage } from './span-store.js';
import type { TraceTree } from './trace-tree.js';

/** Options of {@link createQueryClient}. */
export interface QueryClientOptions {
  /** Collector base URL; default `$MAXPRO_COLLECTOR_URL`, the running local collector's, else `http://127.0.0.1:4318`. */
  url?: string;
  /** Bearer token; default `$MAXPRO_COLLECTOR_TOKEN`, else the local collector's token file (see local-endpoints.ts). */
  token?: string;
  /** File to read the token from instead. */
  tokenFile?: string;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

/** Search parameters, passed through as query-string values. */
export interface SearchParams {
  service?: string;
  operation?: string;
  start?: string;
  end?: string;
  minDuration?: string;
  maxDuration?: string;
  status?: string;
  attr?: readonly string[];
  limit?: number;
  pageToken?: string;
}

/** RED query parameters: times as Unix ns, RFC 3339 or a duration ago; step as a duration. */
export interface RedParams {
  service: string;
  operation?: string;
  start?: string;
  end?: string;
  step?: string;
}

/** Typed calls to the query API. */
export interface QueryClient {
  readonly url: string;
  getTrace(traceId: string): Promise<TraceTree>;
  searchSpans(params: SearchParams): Promise<SpanPage>;
  /** Spans stored after `after`, in arrival order (see `SpanStore.exportSpans`). */
  exportSpans(after: string, limit: number): Promise<SpanExport>;
  listServices(): Promise<string[]>;
  listOperations(service?: string): Promise<Operation[]>;
  /** Rate, error ratio and p50/p90/p99 per operation and step (`/api/red`). */
  red(params: RedParams): Promise<RedResult>;
}

/** Creates a query API client. */
export function createQueryClient(options: QueryClientOptions = {}): QueryClient {
  const url = (options.url ?? localServiceUrl('collector')).replace(/\/+$/, '');
  const cred = options.token !== undefined ? { token: options.token } : localCredential('collector', options.tokenFile ? { tokenFile: options.tokenFile } : {});
  const token = cred.token;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const get = async <T>(path: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new CollectorRequestError(0, `cannot reach the collector at ${url}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch { /* not JSON */ }
      const hint = res.status === 401 && cred.problem ? ` (${cred.problem})` : '';
      throw new CollectorRequestError(res.status, `collector answered ${res.status}: ${message}${hint}`);
    }
    return JSON.parse(text) as T;
  };
  return {
    url,
    getTrace: (traceId) => get<TraceTree>(`/api/traces/${encodeURIComponent(traceId)}`),
    searchSpans: (p) => {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(p)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) qs.append(k, String(x));
        else qs.set(k, String(v));
      }
      return get<SpanPage>(`/api/spans?${qs}`);
    },
    exportSpans: (after, limit) => get<SpanExport>(`/api/spans/export?after=${encodeURIComponent(after)}&limit=${limit}`),
    listServices: async () => (await get<{ services: string[] }>('/api/services')).services,
    red: (p) => {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(p)) if (v !== undefined) qs.set(k, String(v));
      return get<RedResult>(`/api/red?${qs}`);
    },
    listOperations: async (service) => (await get<{ operations: Operation[] }>(`/api/operations${service ? `?service=${encodeURIComponent(service)}` : ''}`)).operations,
  };
}
