// SPDX-License-Identifier: Apache-2.0
/** Converts BPF boot-time stamps (bpf_ktime_get_boot_ns) to wall-clock ms. */
import { readFileSync } from 'node:fs';

let offsetMs: number | undefined;

/** Wall-clock ms at boot, from /proc/uptime (10 ms resolution). */
function bootWallMs(): number {
  if (offsetMs === undefined) {
    const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    offsetMs = Date.now() - up * 1000;
  }
  return offsetMs;
}

export function bootNsToWallMs(bootNs: number | bigint): number {
  return bootWallMs() + Number(bootNs) / 1e6;
}
