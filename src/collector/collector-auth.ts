// SPDX-License-Identifier: Apache-2.0
/**
 * Who may call the collector: bearer tokens and API keys, compared as SHA-256
 * digests in constant time. Both transports pass the same two header values.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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
  const tokenDigests = (auth.tokens ?? []).filter((t) => t !== '').map(digest);
  const keyDigests = (auth.apiKeys ?? []).filter((t) => t !== '').map(digest);
  if (tokenDigests.length + keyDigests.length === 0) {
    throw new ConfigError('collector: no bearer token or API key configured; set one, or disable auth explicitly');
  }
  return {
    authorized(h, k) {
      if (typeof h === 'string' && /^bearer /i.test(h)) {
        const d = digest(h.slice(7).trim());
        if (tokenDigests.some((t) => timingSafeEqual(t, d))) return true;
      }
      if (typeof k === 'string') {
        const d = digest(k.trim());
        if (keyDigests.some((t) => timingSafeEqual(t, d))) return true;
      }
      return false;
    },
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
