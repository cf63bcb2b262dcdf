// SPDX-License-Identifier: Apache-2.0
/**
 * Kernel BPF run-time statistics (BPF_ENABLE_STATS): while enabled, every
 * program's run time and run count are accounted; they cost two clock reads
 * per program run, so they are on only while someone holds the handle.
 */
import { native } from './native.js';

export interface BpfStatsHandle {
  /** Turns stats off again (when no other holder remains). Idempotent. */
  close(): void;
}

/** Enables BPF run-time stats. May throw `SyscallError` (EPERM without CAP_SYS_ADMIN). */
export function enableBpfStats(): BpfStatsHandle {
  let fd: number | undefined = native().enableStats();
  return {
    close(): void {
      if (fd === undefined) return;
      native().closeFd(fd);
      fd = undefined;
    },
  };
}
