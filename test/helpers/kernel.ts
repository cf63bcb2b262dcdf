// SPDX-License-Identifier: Apache-2.0
/**
 * Kernel-test gates. A kernel test calls `kernelSkip()` and passes the result
 * as its `skip` option, so that a machine without root, BTF or bpffs shows
 * the reason in the log instead of passing silently.
 */
import { existsSync, readFileSync } from 'node:fs';

let cached: string | false | undefined;

/** The reason kernel tests cannot run here, or false when they can. */
export function kernelSkip(): string | false {
  if (cached !== undefined) return cached;
  cached = computeSkip();
  return cached;
}

function computeSkip(): string | false {
  if (process.getuid?.() !== 0) return 'kernel tests need root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel tests need BTF at /sys/kernel/btf/vmlinux';
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (!/ \/sys\/fs\/bpf bpf /.test(mounts)) return 'kernel tests need bpffs at /sys/fs/bpf (run `maxpro doctor --fix`)';
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    return 'kernel tests need tracefs (run `maxpro doctor --fix`)';
  }
  if (!existsSync(new URL('../../../native/build/maxpro.node', import.meta.url))) return 'native addon not built (run `npm run build`)';
  return false;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns true or `timeoutMs` passes; returns its last answer. */
export async function waitFor(fn: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}
