// SPDX-License-Identifier: Apache-2.0
/**
 * What is known about each process, for ancestry and late events. Bounded
 * and LRU, so an exec storm keeps memory flat; seeded from /proc so processes
 * that started before the probe have ancestry too. An exited process stays
 * for `graceMs`, so events that arrive after its exit still resolve.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../lib/errors.js';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** Executable path, when known. */
  exe?: string;
  /** Arguments (already redacted by the caller), when known. */
  args?: string[];
  uid?: number;
  /** Start, boot clock, ns. */
  startBootNs?: number;
  cgroupId?: number;
  /** Wall-clock ms of the exit; unset while running. */
  exitedAtMs?: number;
}

/** One link of an ancestry chain, nearest parent first. */
export interface AncestorInfo {
  pid: number;
  /** Unset when the process is not in the cache. */
  comm?: string;
  exe?: string;
}

export interface ProcessCacheOptions {
  /** Most processes kept. Default 16384. */
  maxEntries?: number;
  /** How long an exited process stays, ms. Default 5000. */
  graceMs?: number;
  /** /proc mount (tests). Default /proc. */
  procRoot?: string;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
  /** Called on each entry read from /proc before it is kept (e.g. redaction). */
  sanitize?(info: ProcessInfo): void;
}

export interface ProcessCacheStats {
  entries: number;
  hits: number;
  misses: number;
  /** Entries dropped because the cache was full (least recently used first). */
  evictions: number;
  /** Exited entries removed after their grace period. */
  expired: number;
  seeded: number;
}

export interface ProcessCache {
  /** Adds every process in /proc; returns how many. Existing entries are kept. */
  seedFromProc(): number;
  /** Inserts or replaces (and marks as most recently used). */
  upsert(info: ProcessInfo): void;
  /** Merges fields into an entry, creating it when absent. */
  update(pid: number, fields: Partial<ProcessInfo> & { ppid: number; comm: string }): ProcessInfo;
  /** Marks a process exited; it stays for the grace period. */
  markExited(pid: number): void;
  get(pid: number): ProcessInfo | undefined;
  /**
   * Parents of `pid`, nearest first, up to `depth` links or pid 1. A parent
   * missing from the cache ends the chain as `{ pid }`. The array is shared
   * between siblings for up to a second: do not mutate it.
   */
  ancestry(pid: number, depth: number): AncestorInfo[];
  /** Removes exited entries past their grace period. Called by get/upsert too. */
  sweep(): void;
  readonly size: number;
  stats(): ProcessCacheStats;
}

/** How long a memoised ancestry chain is reused, ms. */
const CHAIN_TTL_MS = 1000;

/** USER_HZ: /proc/<pid>/stat counts start time in these ticks. */
const CLOCK_TICKS = 100;

/** Parses /proc/<pid>/stat: ppid, comm and start time. */
export function parseProcStat(text: string): { ppid: number; comm: string; startBootNs: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // Fields after the comm: state(3) ppid(4) ... starttime(22).
  const ppid = Number(rest[1]);
  const start = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(start)) return undefined;
  return { ppid, comm: text.slice(open + 1, close), startBootNs: start * (1e9 / CLOCK_TICKS) };
}

export function createProcessCache(options: ProcessCacheOptions = {}): ProcessCache {
  const maxEntries = options.maxEntries ?? 16384;
  const graceMs = options.graceMs ?? 5000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new InvalidArgumentError(`createProcessCache: maxEntries ${maxEntries} must be a positive integer`);
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new InvalidArgumentError(`createProcessCache: graceMs ${graceMs} must be >= 0`);
  const procRoot = options.procRoot ?? '/proc';
  const now = options.now ?? Date.now;
  // Map iteration order is insertion order: re-inserting on use makes it LRU.
  const entries = new Map<number, ProcessInfo>();
  // Exits in time order, so expiry costs only what expires.
  const exits: { pid: number; at: number }[] = [];
  let exitHead = 0;
  const st = { hits: 0, misses: 0, evictions: 0, expired: 0, seeded: 0 };

  const touch = (info: ProcessInfo): void => {
    entries.delete(info.pid);
    entries.set(info.pid, info);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value as number;
      entries.delete(oldest);
      st.evictions++;
    }
  };
  const sweep = (): void => {
    const limit = now() - graceMs;
    while (exitHead < exits.length && exits[exitHead]!.at <= limit) {
      const { pid, at } = exits[exitHead++]!;
      const e = entries.get(pid);
      // Only if it is still the same exited process (pids are reused).
      if (e && e.exitedAtMs === at) {
        entries.delete(pid);
        st.expired++;
      }
    }
    if (exitHead > 1024 && exitHead * 2 > exits.length) {
      exits.splice(0, exitHead);
      exitHead = 0;
    }
    // The exit queue is bounded like the cache: older records only lose expiry.
    if (exits.length - exitHead > maxEntries * 2) {
      exitHead = exits.length - maxEntries * 2;
    }
  };

  const readProc = (pid: number): ProcessInfo | undefined => {
    const dir = join(procRoot, String(pid));
    let stat;
    try {
      stat = parseProcStat(readFileSync(join(dir, 'stat'), 'latin1'));
    } catch {
      return undefined; // exited meanwhile
    }
    if (!stat) return undefined;
    const info: ProcessInfo = { pid, ppid: stat.ppid, comm: stat.comm, startBootNs: stat.startBootNs };
    try {
      const cmd = readFileSync(join(dir, 'cmdline'));
      if (cmd.length > 0) {
        const s = cmd.toString('utf8');
        info.args = (s.endsWith('\0') ? s.slice(0, -1) : s).split('\0');
      }
    } catch { /* kernel thread or gone */ }
    try {
      info.exe = readlinkSync(join(dir, 'exe'));
    } catch { /* kernel thread or no permission */ }
    try {
      const m = /^Uid:\s+(\d+)/m.exec(readFileSync(join(dir, 'status'), 'latin1'));
      if (m) info.uid = Number(m[1]);
    } catch { /* gone */ }
    return info;
  };

  /*
   * The ancestry of any child of `parent`: [parent, its parent, ...]. Every
   * child of a process shares it, so it is memoised on the parent for
   * CHAIN_TTL_MS (an exec storm asks for the same chain thousands of times a
   * second); an exec or exit of the parent clears it. Callers must not
   * mutate the returned array.
   */
  const chains = new WeakMap<ProcessInfo, { at: number; depth: number; chain: AncestorInfo[] }>();
  const childChain = (parent: ProcessInfo, depth: number): AncestorInfo[] => {
    const t = now();
    const memo = chains.get(parent);
    if (memo && memo.depth === depth && t - memo.at < CHAIN_TTL_MS) return memo.chain;
    const chain: AncestorInfo[] = [];
    const seen = new Set<number>();
    let cur: ProcessInfo | undefined = parent;
    while (cur && chain.length < depth && !seen.has(cur.pid)) {
      seen.add(cur.pid);
      chain.push({ pid: cur.pid, comm: cur.comm, ...(cur.exe ? { exe: cur.exe } : {}) });
      if (cur.pid <= 1 || cur.ppid <= 0) break;
      const next = entries.get(cur.ppid);
      if (!next && chain.length < depth) chain.push({ pid: cur.ppid });
      cur = next;
    }
    chains.set(parent, { at: t, depth, chain });
    return chain;
  };

  return {
    seedFromProc(): number {
      let n = 0;
      for (const name of readdirSync(procRoot)) {
        if (!/^\d+$/.test(name)) continue;
        const pid = Number(name);
        if (entries.has(pid)) continue;
        const info = readProc(pid);
        if (!info) continue;
        options.sanitize?.(info);
        touch(info);
        n++;
      }
      st.seeded += n;
      return n;
    },
    upsert(info: ProcessInfo): void {
      sweep();
      touch(info);
    },
    update(pid, fields): ProcessInfo {
      sweep();
      const old = entries.get(pid);
      const info: ProcessInfo = old ? Object.assign(old, fields) : { pid, ...fields };
      chains.delete(info);
      delete info.exitedAtMs;
      touch(info);
      return info;
    },
    markExited(pid: number): void {
      const e = entries.get(pid);
      if (!e) return;
      const at = now();
      e.exitedAtMs = at;
      chains.delete(e);
      exits.push({ pid, at });
    },
    get(pid: number): ProcessInfo | undefined {
      sweep();
      const e = entries.get(pid);
      if (e) {
        st.hits++;
        touch(e);
      } else st.misses++;
      return e;
    },
    ancestry(pid: number, depth: number): AncestorInfo[] {
      const self = entries.get(pid);
      if (!self || depth <= 0 || self.pid <= 1 || self.ppid <= 0 || self.ppid === pid) return [];
      const parent = entries.get(self.ppid);
      if (!parent) return [{ pid: self.ppid }];
      return childChain(parent, depth);
    },
    sweep,
    get size(): number {
      return entries.size;
    },
    stats: () => ({ entries: entries.size, ...st }),
  };
}
