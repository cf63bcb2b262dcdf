// SPDX-License-Identifier: Apache-2.0
/** The process probe's module (see src/probes/probe-module.ts). */
import type { ProbeModule } from '../probe-module.js';

export const PROCESS_MODULE = {
  name: 'process',
  summary: 'exec, fork and exit of every process, with argv and cgroup',
} as const satisfies ProbeModule;
