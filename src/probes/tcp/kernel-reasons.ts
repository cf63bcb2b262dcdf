// SPDX-License-Identifier: Apache-2.0
/**
 * Names of kernel reason enums (skb_drop_reason, sk_rst_reason) as the
 * running kernel prints them: parsed from the tracepoint's print format in
 * tracefs, so new reasons in newer kernels get their names without a table
 * here. Where tracefs is missing or not readable (a non-root agent), the
 * enum's values in the kernel's BTF give the same names; failing both,
 * `reason_<n>`.
 */
import { readFileSync } from 'node:fs';
import { kernelEnum } from '../../ebpf/index.js';

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

/** `SKB_DROP_REASON_NO_SOCKET` -> `no_socket`: the names the print format uses. */
export function enumReasonNames(values: ReadonlyMap<number, string>, prefix: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const [v, k] of values) if (k.startsWith(prefix)) out.set(v, k.slice(prefix.length).toLowerCase());
  return out;
}

function namesFor(event: string, enumName: string, prefix: string, btf: (name: string) => ReadonlyMap<number, string> | undefined): ReasonNames {
  let names = parseReasonNames(readFormat(event));
  if (names.size === 0) {
    let values: ReadonlyMap<number, string> | undefined;
    try {
      values = btf(enumName);
    } catch {
      values = undefined; // no addon: plain numbers
    }
    if (values) names = enumReasonNames(values, prefix);
  }
  return { name: (r) => names.get(r) ?? `reason_${r}` };
}

/** skb_drop_reason names (from skb/kfree_skb, else the kernel's BTF). */
export function dropReasonNames(btf = kernelEnum): ReasonNames {
  return namesFor('skb/kfree_skb', 'skb_drop_reason', 'SKB_DROP_REASON_', btf);
}

/** sk_rst_reason names (from tcp/tcp_send_reset, else the kernel's BTF). */
export function resetReasonNames(btf = kernelEnum): ReasonNames {
  return namesFor('tcp/tcp_send_reset', 'sk_rst_reason', 'SK_RST_REASON_', btf);
}
