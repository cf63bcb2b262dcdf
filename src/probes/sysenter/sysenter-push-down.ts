// SPDX-License-Identifier: Apache-2.0
/** The example probe's part of a policy plan: `syscall.id == N` keeps only that syscall's records in the kernel. */
import type { ProbePushDown } from '../probe-module.js';

/** What `struct sysenter_policy` takes from the policy (the processes come from the config and the live stream). */
export interface SysenterKernelPolicy {
  /** false: the policy keeps no record of the configured process. */
  records: boolean;
  /** Only this syscall (-1: any). */
  syscallNr: number;
}

export const SYSENTER_PUSH_DOWN: ProbePushDown<SysenterKernelPolicy> = {
  none: () => ({ records: false, syscallNr: -1 }),
  everything: () => ({ records: true, syscallNr: -1 }),
  predicate(p) {
    if (p.field !== 'syscall.id' || p.op !== '==') return undefined;
    return {
      how: `sysenter_policy.syscall_nr = ${p.value}`,
      apply(k) {
        // One number fits the map: two keep rules naming different syscalls let every syscall through.
        if (!k.records) {
          k.records = true;
          k.syscallNr = p.value;
        } else if (k.syscallNr !== p.value) k.syscallNr = -1;
      },
    };
  },
  streams: (k) => k.records && k.syscallNr === -1,
  describe: (k) => `sysenter_policy: records=${k.records ? 1 : 0} syscall_nr=${k.syscallNr}`,
};
