// SPDX-License-Identifier: Apache-2.0
/** The TCP probe's module (see src/probes/probe-module.ts). */
import type { ProbeModule } from '../probe-module.js';

export const TCP_MODULE = {
  name: 'tcp',
  summary: 'in-kernel connection aggregates per workload, and records of failures and slow handshakes',
} as const satisfies ProbeModule;
