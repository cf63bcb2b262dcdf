// SPDX-License-Identifier: Apache-2.0
/**
 * What every probe declares about itself, in one module per probe
 * (src/probes/<name>/<name>-module.ts) listed once in src/probes/registry.ts.
 * Code above the probes iterates over the registry instead of naming probes.
 */

export interface ProbeModule<N extends string = string> {
  /** The probe's name: its config key under `probes`, its `probe` label, its policy and stream name. */
  readonly name: N;
  /** One line for help and listings. */
  readonly summary: string;
}
