// SPDX-License-Identifier: Apache-2.0
/**
 * Bearer-token checks shared by the agent and the collector: accepted values
 * are kept as SHA-256 digests and compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Checks one credential value against a fixed set. */
export interface SecretSet {
  /** True when `value` (trimmed) is one of the accepted secrets. */
  has(value: string): boolean;
  readonly size: number;
}

/** The non-empty `secrets` as a set of digests. */
export function createSecretSet(secrets: readonly string[]): SecretSet {
  const digests = secrets.filter((s) => s !== '').map(digest);
  return {
    size: digests.length,
    has(value) {
      const d = digest(value.trim());
      // Every digest is compared, so the time taken does not tell which one matched.
      let hit = false;
      for (const t of digests) hit = timingSafeEqual(t, d) || hit;
      return hit;
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header value, else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (typeof authorization !== 'string' || !/^bearer /i.test(authorization)) return undefined;
  return authorization.slice(7).trim();
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
