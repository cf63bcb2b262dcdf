// SPDX-License-Identifier: Apache-2.0
/** Doctor's check of BPF object verification: on, and the doctor's own object passes it. */
import { loadTrustedKeys, objectTrustPolicy, readVerifiedObject } from '../ebpf/index.js';
import type { DoctorCheck } from './run-doctor.js';

export const VERIFICATION_CHECK_ID = 'bpf.verification';

export function checkObjectVerification(objectPath: string): DoctorCheck {
  const base = { id: VERIFICATION_CHECK_ID, title: 'BPF object signature verification', required: true };
  try {
    const policy = objectTrustPolicy();
    if (!policy.verify) {
      return { ...base, status: 'warn', detail: 'OFF (MAXPRO_BPF_VERIFY=off): unsigned or tampered BPF objects load', fix: 'unset MAXPRO_BPF_VERIFY' };
    }
    const { attestation: a } = readVerifiedObject(objectPath);
    const keys = loadTrustedKeys(policy.trustedKeys).keys.length;
    return {
      ...base, status: 'ok',
      detail: `on: ${a.object} ${a.version} (${a.arch}) signed by key ${a.keyId}; ${keys} trusted key(s) in ${policy.trustedKeys.join(', ')}; minimum version ${policy.minVersion}`,
    };
  } catch (err) {
    return { ...base, status: 'fail', detail: err instanceof Error ? err.message : String(err), fix: 'npm run build (signs the objects and installs the development key), or mount the release public key; see docs/supply-chain.md' };
  }
}
