// SPDX-License-Identifier: Apache-2.0
/**
 * Who may call the agent's endpoints: the collector's scheme (a bearer token
 * kept in a file only its owner can read; `Authorization: Bearer <token>`).
 * `/stream`, `/tcp/aggregates` and pprof always need the token; `/metrics`
 * and the health endpoints are open when listed in `open` (the default on a
 * loopback listen). Turning authentication off is allowed on loopback only.
 */
import { bearerToken, createSecretSet } from '../../lib/http/bearer-auth.js';
import { ConfigError } from '../../lib/errors.js';
import { isLoopbackHost } from '../../lib/http/loopback.js';

/** Endpoints that may be served without the token. */
export type AgentOpenEndpoint = 'metrics' | 'health';

export type AgentHttpAuthOptions =
  | {
    /** Accepted bearer tokens. */
    tokens: readonly string[];
    /** Served without a token; default: both on loopback, `health` elsewhere. */
    open?: readonly AgentOpenEndpoint[];
    /** Where a client finds the token (a file path), named in 401 answers. */
    hint?: string;
  }
  | { disabled: true };

export interface AgentHttpAuth {
  /** Whether a request for an endpoint of `kind` with this Authorization header may proceed. */
  allows(kind: AgentOpenEndpoint | 'private', authorization: string | undefined): boolean;
  /** True when requests carry a checked token (not when authentication is off). */
  readonly enabled: boolean;
  readonly hint: string | undefined;
}

/**
 * @throws ConfigError when authentication is off or `/metrics` is open on a
 * non-loopback host, or no token is given.
 */
export function createAgentHttpAuth(options: AgentHttpAuthOptions, host: string): AgentHttpAuth {
  const loopback = isLoopbackHost(host);
  if ('disabled' in options) {
    if (!loopback) {
      throw new ConfigError(`http.listen ${host}: authentication can be turned off on a loopback address only; `
        + 'anyone who reaches this address could read every process\'s arguments from /stream');
    }
    return { allows: () => true, enabled: false, hint: undefined };
  }
  const tokens = createSecretSet(options.tokens);
  if (tokens.size === 0) throw new ConfigError('http.auth: no token configured for the agent\'s endpoints');
  const open = new Set<string>(options.open ?? (loopback ? ['metrics', 'health'] : ['health']));
  return {
    enabled: true,
    hint: options.hint,
    allows(kind, authorization) {
      if (kind !== 'private' && open.has(kind)) return true;
      const t = bearerToken(authorization);
      return t !== undefined && tokens.has(t);
    },
  };
}
