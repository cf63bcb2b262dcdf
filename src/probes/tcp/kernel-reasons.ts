// SPDX-License-Identifier: Apache-2.0
/**
 * Names of kernel reason enums (skb_drop_reason, sk_rst_reason) as the
 * running kernel prints them: parsed from the tracepoint's print format in
 * tracefs, so new reasons in newer kernels get their names without a table
 * here. A missing or unreadable format gives `reason_<n>` names.
 */
import { readFileSync } from 'node:fs';

const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Parses `__print_symbolic(REC->reason, { 2, "NAME" }, ...)` out of a format file. */
export function parseReasonNames(format: string, field = 'reason'): Map<number, string> {
  const out = new Map<number, string>();
  const start = format.indexOf(`__print_symbolic(REC->${field},`);
  if (start < 0) return out;
  const re = /\{\s*(\d+)\s*,\s*"([A-Za-z0-9_]+)"\s*\}/gy;
  let i = format.indexOf('{', start);
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(format);
    if (!m) break;
    out.set(Number(m[1]), m[2]!.toLowerCase());
    i = re.lastIndex;
    while (format[i] === ',' || format[i] === ' ') i++;
  }
  return out;
}

function readFormat(event: string): string {
  for (const root of TRACEFS_ROOTS) {
    try {
      return readFileSync(`${root}/events/${event}/format`, 'utf8');
    } catch {
      // try the next mount point
    }
  }
  return '';
}

/** A lookup from reason number to name, falling back to `reason_<n>`. */
export interface ReasonNames {
  name(reason: number): string;
}

function namesFor(event: string): ReasonNames {
  const names = parseReasonNames(readFormat(event));
  return { name: (r) => names.get(r) ?? `reason_${r}` };
}

/** skb_drop_reason names (from skb/kfree_skb). */
export function dropReasonNames(): ReasonNames {
  return namesFor('skb/kfree_skb');
}

/** sk_rst_reason names (from tcp/tcp_send_reset). */
export function resetReasonNames(): ReasonNames {
  return namesFor('tcp/tcp_send_reset');
}
