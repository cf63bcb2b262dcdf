// SPDX-License-Identifier: Apache-2.0
/**
 * Who may call the collector: bearer tokens and API keys, compared as SHA-256
 * digests in constant time. Both transports pass the same two header values.
 */
import { bearerToken, createSecretSet } from '../lib/http/bearer-auth.js';
import { ConfigError } from '../lib/errors.js';

/** Who may call the collector. Authentication is on unless `disabled: true` is given. */
export type CollectorAuthOptions =
  | {
    /** Accepted `Authorization: Bearer <token>` values. */
    tokens?: readonly string[];
    /** Accepted `X-MaxPro-Auth: <key>` values. */
    apiKeys?: readonly string[];
    disabled?: false;
  }
  | { disabled: true };

/** Checks credentials. */
export interface CollectorAuth {
  /** True when `authorization` holds an accepted bearer token or `apiKey` an accepted key. */
  authorized(authorization: string | undefined, apiKey: string | undefined): boolean;
}

/**
 * @throws ConfigError when no credentials are configured and auth was not disabled explicitly.
 */
export function createCollectorAuth(auth: CollectorAuthOptions | undefined, log: (line: string) => void): CollectorAuth {
  if (!auth) throw new ConfigError('collector: auth is required; pass tokens/apiKeys or { disabled: true }');
  if (auth.disabled === true) {
    log('maxpro collector: WARNING: authentication is disabled; anyone who can reach the port can write and read traces');
    return { authorized: () => true };
  }
  const tokens = createSecretSet(auth.tokens ?? []);
  const keys = createSecretSet(auth.apiKeys ?? []);
  if (tokens.size + keys.size === 0) {
    throw new ConfigError('collector: no bearer token or API key configured; set one, or disable auth explicitly');
  }
  return {
    authorized(h, k) {
      const token = bearerToken(h);
      if (token !== undefined && tokens.has(token)) return true;
      return typeof k === 'string' && keys.has(k);
    },
  };
}
