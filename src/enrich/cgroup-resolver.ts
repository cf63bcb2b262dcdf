// SPDX-License-Identifier: Apache-2.0
/**
 * Cgroup id to cgroup v2 path. A v2 cgroup id is the inode number of its
 * directory in the cgroup2 filesystem, so the resolver indexes the v2 mount
 * by inode. A miss triggers a rescan, at most once per `rescanIntervalMs`,
 * because new containers create new directories. The index is bounded.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../lib/errors.js';

export interface CgroupResolverOptions {
  /** The cgroup2 mount. Default: found in /proc/self/mountinfo. */
  root?: string;
  /** Most cgroups indexed. Default 16384. */
  maxEntries?: number;
  /** Least time between two rescans, ms. Default 1000. */
  rescanIntervalMs?: number;
  /** Clock, ms (tests). Default Date.now. */
  now?: () => number;
}

export interface CgroupResolverStats {
  entries: number;
  hits: number;
  misses: number;
  rescans: number;
  /** Directories not indexed because the index was full. */
  overflow: number;
}

export interface CgroupResolver {
  /** The v2 mount point used. */
  readonly root: string;
  /** The path relative to the v2 root (`/` for the root), or undefined when unknown. */
  resolve(cgroupId: number): string | undefined;
  /** The id of a path relative to the v2 root, read from the filesystem. */
  idOf(path: string): number | undefined;
  stats(): CgroupResolverStats;
}

/** The cgroup2 mount point; prefers /sys/fs/cgroup, then /sys/fs/cgroup/unified on hybrid hosts. */
export function findCgroup2Mount(mountinfo = '/proc/self/mountinfo'): string | undefined {
  const mounts: string[] = [];
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mp = line.slice(0, sep).split(' ')[4];
    if (mp) mounts.push(mp.replace(/\\040/g, ' '));
  }
  return mounts.find((m) => m === '/sys/fs/cgroup') ?? mounts.find((m) => m === '/sys/fs/cgroup/unified') ?? mounts[0];
}

/**
 * Every cgroup under a cgroup2 mount: id (the directory's inode number, which
 * is the kernfs id BPF reports) -> path relative to the mount, at most
 * `maxEntries`; `overflow` counts the directories left out.
 */
export function walkCgroups(root: string, maxEntries: number): { cgroups: Map<number, string>; overflow: number } {
  const next = new Map<number, string>();
  let overflow = 0;
  const walk = (dir: string, rel: string): void => {
    let ino: number;
    try {
      ino = statSync(dir).ino;
    } catch {
      return; // removed while walking
    }
    if (next.size >= maxEntries) {
      overflow++;
      return;
    }
    next.set(ino, rel);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(dir, e.name), rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
    }
  };
  walk(root, '/');
  return { cgroups: next, overflow };
}

/** Creates a resolver. May throw `NotFoundError` when no cgroup2 mount exists. */
export function createCgroupResolver(options: CgroupResolverOptions = {}): CgroupResolver {
  const root = options.root ?? findCgroup2Mount();
  if (!root) throw new NotFoundError('no cgroup2 filesystem is mounted (needed to resolve cgroup ids)');
  const maxEntries = options.maxEntries ?? 16384;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new InvalidArgumentError(`createCgroupResolver: maxEntries ${maxEntries} must be a positive integer`);
  const interval = options.rescanIntervalMs ?? 1000;
  const now = options.now ?? Date.now;
  let index = new Map<number, string>();
  let lastScan = -Infinity;
  const st = { hits: 0, misses: 0, rescans: 0, overflow: 0 };

  const scan = (): void => {
    const walked = walkCgroups(root, maxEntries);
    index = walked.cgroups;
    st.overflow = walked.overflow;
    st.rescans++;
    lastScan = now();
  };

  return {
    root,
    resolve(cgroupId: number): string | undefined {
      let p = index.get(cgroupId);
      if (p !== undefined) {
        st.hits++;
        return p;
      }
      st.misses++;
      if (now() - lastScan < interval) return undefined;
      scan();
      p = index.get(cgroupId);
      return p;
    },
    idOf(path: string): number | undefined {
      try {
        return statSync(join(root, path)).ino;
      } catch {
        return undefined;
      }
    },
    stats: () => ({ entries: index.size, ...st }),
  };
}
