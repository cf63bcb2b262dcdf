// SPDX-License-Identifier: Apache-2.0
/**
 * What the agent verified and loaded, for `GET /attestation` and the
 * metrics: each loaded BPF object with its digest, signer key id and when it
 * was verified; whether verification is on; the refusals by object and reason.
 */
import { lastVerificationFailure, loadedObjects, loadTrustedKeys, objectTrustPolicy, pinnedProgramChecks, verificationFailures } from '../ebpf/index.js';
import type { MetricFamily } from '../lib/metric-family.js';

export interface AttestationReport {
  verification: 'on' | 'off';
  minVersion: string;
  arch: string;
  /** Key ids (cosign's hint) of the trusted public keys, and where each was read. */
  trustedKeys: { keyId: string; source: string }[];
  objects: {
    object: string; path: string; sha256: string; size: number; keyId: string | null; manifestKeyId: string | null;
    version: string | null; arch: string | null; verified: boolean; verifiedAt: string; verifyMicros: number;
  }[];
  failures: { object: string; reason: string; count: number }[];
  /** Programs a previous run left pinned, compared by tag with the verified ones (keepPinned). */
  pinnedPrograms: { object: string; result: 'matched' | 'replaced'; count: number }[];
  lastFailure?: { object: string; reason: string; message: string; at: string };
}

export function attestationReport(): AttestationReport {
  const policy = objectTrustPolicy();
  const last = lastVerificationFailure();
  return {
    verification: policy.verify ? 'on' : 'off',
    minVersion: policy.minVersion,
    arch: policy.arch,
    trustedKeys: loadTrustedKeys(policy.trustedKeys).keys.map((k) => ({ keyId: k.id, source: k.source })),
    objects: loadedObjects().map(({ verifiedAtMs, ...a }) => ({ ...a, verifiedAt: new Date(verifiedAtMs).toISOString() })),
    failures: verificationFailures(),
    pinnedPrograms: pinnedProgramChecks(),
    ...(last ? { lastFailure: { object: last.object, reason: last.reason, message: last.message, at: new Date(last.atMs).toISOString() } } : {}),
  };
}

export function attestationMetrics(): MetricFamily[] {
  const policy = objectTrustPolicy();
  const objects = loadedObjects();
  return [
    { name: 'maxpro_bpf_object_verification_enabled', type: 'gauge', help: 'Whether BPF objects are verified before load (1), or load unverified because MAXPRO_BPF_VERIFY=off (0).',
      samples: [{ labels: {}, value: policy.verify ? 1 : 0 }] },
    { name: 'maxpro_bpf_object_verification_failures', type: 'counter', help: 'BPF objects refused before load, by object and reason (see docs/supply-chain.md).',
      samples: verificationFailures().map((f) => ({ labels: { object: f.object, reason: f.reason }, value: f.count })) },
    { name: 'maxpro_bpf_pinned_program_checks', type: 'counter', help: 'Programs a previous run left pinned, by whether their tag matched the program loaded from verified bytes (replaced either way).',
      samples: pinnedProgramChecks().map((c) => ({ labels: { object: c.object, result: c.result }, value: c.count })) },
    { name: 'maxpro_bpf_object_info', type: 'gauge', help: 'Each loaded BPF object: its SHA-256, the key id that signed it, its version, and whether it was verified.',
      samples: objects.map((o) => ({ labels: { object: o.object, sha256: o.sha256, key_id: o.keyId ?? '', version: o.version ?? '', verified: String(o.verified) }, value: 1 })) },
    { name: 'maxpro_bpf_object_verified_time_seconds', type: 'gauge', help: 'Unix time each loaded BPF object\'s bytes were verified.', unit: 'seconds',
      samples: objects.map((o) => ({ labels: { object: o.object }, value: o.verifiedAtMs / 1000 })) },
  ];
}
