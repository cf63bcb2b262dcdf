// SPDX-License-Identifier: Apache-2.0
/** One JSON object per line, for `--json` output. BigInts print as numbers. */

/** Serialises one value as a single line (with the newline). */
export function formatJsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v))}\n`;
}
