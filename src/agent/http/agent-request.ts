// SPDX-License-Identifier: Apache-2.0
/**
 * One GET to a running agent, shared by the agent clients (live stream, TCP
 * aggregates): a timeout, the caller's abort signal, and one error that names
 * the agent and why it did not answer.
 */
import { NotFoundError } from '../../lib/errors.js';
import { localCredential } from '../../lib/http/local-endpoints.js';

export interface AgentRequestOptions {
  /** The agent's base URL, as the user gave it: errors name it. */
  agentUrl: string;
  /** What to fetch. */
  url: URL;
  signal?: AbortSignal;
  /** How long the agent has to answer. */
  timeoutMs: number;
  /**
   * `headers`: the timeout ends when the response headers arrive (a stream);
   * `body`: it also covers reading the whole body, which is returned as `text`.
   */
  until: 'headers' | 'body';
  headers?: Record<string, string>;
  /** Bearer token; default: this node's agent token (see local-endpoints.ts), when readable. */
  token?: string;
}

export interface AgentResponse {
  res: Response;
  /** The body, when `until` was `body`. */
  text?: string;
  /** Aborts the request (and a body still being streamed). */
  readonly ctrl: AbortController;
  /** Stops following the caller's signal; call it once the body is done with. */
  release(): void;
  /** Why no token was sent, when none was; worth showing with a 401. */
  readonly tokenProblem?: string;
}

/** The text to add to a refusal: for a 401, why the request had no (valid) token. */
export function authHint(status: number, r: { tokenProblem?: string }): string {
  if (status !== 401) return '';
  return r.tokenProblem ? ` (${r.tokenProblem})` : ' (the token sent was not accepted; check MAXPRO_AGENT_TOKEN or --token-file)';
}

/** Why a fetch() to an agent failed, from its cause. */
export function reasonOf(err: unknown): string {
  // fetch() says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, bad port, …).
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (!cause) return err instanceof Error ? err.message : String(err);
  const code = 'code' in cause ? String(cause.code) : undefined;
  return code && !cause.message.includes(code) ? `${code}: ${cause.message}` : cause.message;
}

/**
 * Sends the request. Rejects with `NotFoundError` ("no agent at URL (why)")
 * when the agent does not answer within the timeout, the signal aborts, or
 * the connection fails. Any HTTP status resolves: callers judge it.
 */
export async function agentRequest(options: AgentRequestOptions): Promise<AgentResponse> {
  const ctrl = new AbortController();
  const onAbort = (): void => ctrl.abort();
  if (options.signal?.aborted) ctrl.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const release = (): void => options.signal?.removeEventListener('abort', onAbort);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, options.timeoutMs);
  const cred = options.token !== undefined ? { token: options.token } : localCredential('agent');
  const headers = { ...options.headers, ...(cred.token ? { authorization: `Bearer ${cred.token}` } : {}) };
  const tokenProblem = cred.problem;
  try {
    const res = await fetch(options.url, { signal: ctrl.signal, headers });
    if (options.until === 'headers') return { res, ctrl, release, tokenProblem };
    const text = await res.text();
    release();
    return { res, text, ctrl, release, tokenProblem };
  } catch (err) {
    release();
    const why = timedOut ? `no answer within ${options.timeoutMs} ms` : ctrl.signal.aborted ? 'aborted' : reasonOf(err);
    throw new NotFoundError(`no agent at ${options.agentUrl} (${why})`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
