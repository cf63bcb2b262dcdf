// SPDX-License-Identifier: Apache-2.0
/**
 * A process's workload from `/proc/<pid>/cgroup` and `/proc/<pid>/mountinfo`,
 * for when its kernel cgroup id names nothing: a cgroup v1 host (the v2 id
 * is the root for every process), an id the cgroup resolver does not know,
 * or a process seen through a cgroup namespace as `0::/`. Reads two small
 * files per process, so it runs on those misses only, and remembers a
 * bounded number of answers until the process exits.
 */
import { readFileSync } from 'node:fs';
import { cgroupPathFromProcFile, identifyCgroupPath, identityFromMountinfo } from './container-identity.js';
import type { ContainerIdentity } from './container-identity.js';

export interface ProcIdentityOptions {
  /** Default `/proc`. */
  procRoot?: string;
  /** Most processes remembered. Default 4096. */
  maxEntries?: number;
}

export interface ProcWorkload {
  /** The cgroup path the identity came from; empty when only mounts named it. */
  path: string;
  identity: ContainerIdentity;
}

export interface ProcIdentity {
  /**
   * The workload of a process; undefined when its files name none (or it is
   * gone). `fresh` reads again (an exec: runtimes move a process into its
   * cgroup between fork and exec).
   */
  identify(pid: number, fresh?: boolean): ProcWorkload | undefined;
  /** Drops what is remembered of an exited process. */
  forget(pid: number): void;
  size(): number;
}

const NONE = null;

/**
 * Pure: the workload named by the two files' text. The mounts count only
 * when every cgroup line is at the root (a cgroup namespace, or no file).
 */
export function procWorkload(cgroupFile: string, mountinfo: string): ProcWorkload | undefined {
  const path = cgroupFile === '' ? undefined : cgroupPathFromProcFile(cgroupFile);
  if (path !== undefined) {
    const identity = identifyCgroupPath(path);
    return identity.kind !== 'standalone_process' && identity.kind !== 'unknown' ? { path, identity } : undefined;
  }
  return mountinfo === '' ? undefined : identityFromMountinfo(mountinfo);
}

export function createProcIdentity(options: ProcIdentityOptions = {}): ProcIdentity {
  const root = options.procRoot ?? '/proc';
  const max = options.maxEntries ?? 4096;
  // null: looked up, names nothing (not looked up again until the process exits).
  const memo = new Map<number, ProcWorkload | typeof NONE>();
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'latin1');
    } catch {
      return '';
    }
  };
  return {
    identify(pid, fresh = false) {
      const hit = fresh ? undefined : memo.get(pid);
      if (hit !== undefined) return hit ?? undefined;
      const cg = read(`${root}/${pid}/cgroup`);
      // A process that is gone already is not remembered: its pid may come back.
      if (cg === '') return undefined;
      const atRoot = cgroupPathFromProcFile(cg) === undefined;
      const w = procWorkload(cg, atRoot ? read(`${root}/${pid}/mountinfo`) : '');
      memo.delete(pid);
      if (memo.size >= max) memo.delete(memo.keys().next().value as number);
      memo.set(pid, w ?? NONE);
      return w;
    },
    forget: (pid) => { memo.delete(pid); },
    size: () => memo.size,
  };
}
