// SPDX-License-Identifier: Apache-2.0
/** bpffs paths and pinned-object helpers. */
import { mkdirSync, readFileSync, rmSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../lib/errors.js';
import { native } from './native.js';

/** Where MaxPro pins programs, maps and links by default. */
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/maxpro';

/** True when `dir` (or its nearest existing parent) is on a bpf filesystem. */
export function isOnBpffs(dir: string): boolean {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'bpf').map((f) => f[1] ?? '');
  return mounts.some((m) => dir === m || dir.startsWith(m.endsWith('/') ? m : `${m}/`));
}

/** Creates a pin directory (and parents). Throws when it is not on bpffs. */
export function ensurePinDir(dir: string): string {
  if (!isOnBpffs(dir)) throw new InvalidArgumentError(`pin directory ${dir} is not on a bpf filesystem: mount one with \`mount -t bpf bpf /sys/fs/bpf\` or run \`maxpro doctor --fix\``);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Opens a pinned object; returns its fd, or undefined when nothing is pinned there. */
export function openPinned(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  return native().objGet(path);
}

/** The tag and length of a pinned program (see `Program.identity()`); undefined when nothing is pinned there. */
export function pinnedProgramIdentity(path: string): { tag: string; xlatedLen: number; name: string } | undefined {
  const fd = openPinned(path);
  if (fd === undefined) return undefined;
  try {
    const i = native().progInfo(fd);
    return { tag: i.tag, xlatedLen: i.xlatedLen, name: i.name };
  } finally {
    native().closeFd(fd);
  }
}

/** Removes one pinned program, map or link. Idempotent. */
export function unpin(path: string): void {
  rmSync(path, { force: true });
}

/** Removes pins under `dir` (and the directory). Idempotent. */
export function removePinned(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) removePinned(p);
    else rmSync(p, { force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}
