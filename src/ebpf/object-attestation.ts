// SPDX-License-Identifier: Apache-2.0
/**
 * What this process verified and loaded: one attestation per loaded BPF
 * object (removed when it closes), and the refusals counted by object and
 * reason. Read by the agent's `/attestation` endpoint and its metrics.
 */
export interface ObjectAttestation {
  /** The object's name in the manifest. */
  object: string;
  path: string;
  /** Hex SHA-256 of the bytes loaded. */
  sha256: string;
  size: number;
  /** Key id (cosign's hint) of the object's signature; null when verification is off. */
  keyId: string | null;
  /** Key id of the manifest's signature. */
  manifestKeyId: string | null;
  version: string | null;
  arch: string | null;
  verified: boolean;
  /** When the bytes were verified (ms since the epoch). */
  verifiedAtMs: number;
  /** Microseconds the read and verification took. */
  verifyMicros: number;
}

const loaded = new Map<number, ObjectAttestation>();
let nextId = 1;
const failures = new Map<string, { object: string; reason: string; count: number }>();
let lastFailure: { object: string; reason: string; message: string; atMs: number } | undefined;

/** Records a loaded object; the returned function forgets it (at close). */
export function recordLoaded(a: ObjectAttestation): () => void {
  const id = nextId++;
  loaded.set(id, a);
  return () => void loaded.delete(id);
}

export function recordRefusal(object: string, reason: string, message: string): void {
  const k = `${object}\0${reason}`;
  const f = failures.get(k) ?? { object, reason, count: 0 };
  f.count++;
  failures.set(k, f);
  lastFailure = { object, reason, message, atMs: Date.now() };
}

export function loadedObjects(): ObjectAttestation[] {
  return [...loaded.values()].map((a) => ({ ...a }));
}

export function verificationFailures(): { object: string; reason: string; count: number }[] {
  return [...failures.values()].map((f) => ({ ...f }));
}

export function lastVerificationFailure(): { object: string; reason: string; message: string; atMs: number } | undefined {
  return lastFailure && { ...lastFailure };
}

const pinnedChecks = new Map<string, { object: string; result: 'matched' | 'replaced'; count: number }>();

/**
 * Counts a program pinned by a previous run compared with the one loaded
 * from verified bytes: `matched` (same tag) or `replaced` (different, so
 * the pin was not trusted: an upgrade, or a program put there by another
 * holder of CAP_BPF).
 */
export function recordPinnedCheck(object: string, result: 'matched' | 'replaced'): void {
  const k = `${object}\0${result}`;
  const c = pinnedChecks.get(k) ?? { object, result, count: 0 };
  c.count++;
  pinnedChecks.set(k, c);
}

export function pinnedProgramChecks(): { object: string; result: 'matched' | 'replaced'; count: number }[] {
  return [...pinnedChecks.values()].map((c) => ({ ...c }));
}
