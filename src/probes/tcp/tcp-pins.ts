// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP probe's bpffs pins, and their handover from one agent run to the
 * next, so the counts go on across restarts and crashes.
 *
 * Pinned under `<pinDir>`: the aggregation map (`tcp_aggs`, see
 * pinned-aggregates.ts), the programs (`tcp_prog_<name>`), their links
 * (`tcp_link_<name>`) and `tcp_meta` (when the counts started, and the gaps
 * in them). A pinned link keeps its program attached after the agent is
 * gone: after a `kill -9` or an OOM kill the programs go on counting into the
 * pinned map. An orderly stop detaches them (a stopped agent leaves no
 * program running) and notes the time in `tcp_meta`.
 *
 * On start, with the new object loaded but not attached: the previous run's
 * maps are opened, its pinned links detached, its counts carried into the
 * new map, then the new programs attach. Detaching first means no connection
 * is counted twice; what happens between the two (well under a millisecond
 * per program) is a gap, counted with its length like the time an orderly
 * stop left the programs detached.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openPinnedLink, pinnedProgramIdentity, recordPinnedCheck } from '../../ebpf/index.js';
import type { BpfObject, Link } from '../../ebpf/index.js';
import { carryAndPin, openPreviousRun } from '../pinned-aggregates.js';
import type { PinnedAggregates, PreviousRun } from '../pinned-aggregates.js';

/** Where the counts come from (struct tcp_meta). */
export interface TcpCountsMeta {
  /** Unix time (ms) the counts started: the first load that found nothing pinned. */
  startTimeMs: number;
  /** Intervals in which no program counted although the counts went on (restarts, reloads that turned the probe off). */
  gaps: number;
  /** Their known length, seconds (a crash of a run that could not pin its links leaves a gap of unknown length). */
  gapSeconds: number;
}

export interface TcpPins {
  /** The new object is loaded, its programs not attached: take over from the previous run. */
  beforeAttach(obj: BpfObject): void;
  /** The programs are attached: pin them, the links that count, and the meta. */
  afterAttach(obj: BpfObject, links: readonly Link[]): void;
  aggregates(): PinnedAggregates | undefined;
  meta(): TcpCountsMeta;
  /**
   * At unload, before the probe closes. `keep`: the map stays pinned and the
   * detach time is noted; else every pin goes. Either way the links are
   * unpinned, so closing the probe detaches its programs.
   */
  release(obj: BpfObject, keep: boolean): void;
}

const META_KEY = new Uint8Array(4);
const LINK_PREFIX = 'tcp_link_', PROG_PREFIX = 'tcp_prog_';

interface Meta { startNs: bigint; gaps: bigint; gapNs: bigint; detachedNs: bigint }

function decodeMeta(b: Uint8Array | undefined): Meta | undefined {
  if (!b || b.byteLength < 32) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { startNs: v.getBigUint64(0, true), gaps: v.getBigUint64(8, true), gapNs: v.getBigUint64(16, true), detachedNs: v.getBigUint64(24, true) };
}

function encodeMeta(m: Meta): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, m.startNs, true);
  v.setBigUint64(8, m.gaps, true);
  v.setBigUint64(16, m.gapNs, true);
  v.setBigUint64(24, m.detachedNs, true);
  return b;
}

const wallNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** `pinDir` undefined: nothing is pinned, the counts start with this load. */
export function createTcpPins(options: { pinDir?: string; objectPath: string; log?(line: string): void }): TcpPins {
  const { pinDir } = options;
  const log = options.log ?? ((): void => undefined);
  let meta: Meta = { startNs: wallNs(), gaps: 0n, gapNs: 0n, detachedNs: 0n };
  let aggregates: PinnedAggregates | undefined;
  /** Monotonic ms when the previous run's programs were detached here, or wall ns of its orderly detach. */
  let gapFromMs: number | undefined;
  let gapFromWallNs: bigint | undefined;
  const pinnedLinks: Link[] = [];

  const detachPinnedLinks = (dir: string): number => {
    let n = 0;
    for (const name of readdirSync(dir).filter((f) => f.startsWith(LINK_PREFIX))) {
      const path = join(dir, name);
      try {
        const l = openPinnedLink(path);
        l.unpin();
        if (n++ === 0) gapFromMs = performance.now();
        l.destroy(); // the last reference: the program is detached now
      } catch (err) {
        rmSync(path, { force: true });
        log(`tcp: previous run's link ${path}: ${err instanceof Error ? err.message : String(err)} (pin removed)`);
      }
    }
    return n;
  };

  /** The previous run's pinned programs against the verified object's, by tag. */
  const comparePinnedPrograms = (dir: string, obj: BpfObject): void => {
    for (const name of readdirSync(dir).filter((f) => f.startsWith(PROG_PREFIX))) {
      const prog = obj.programs.get(name.slice(PROG_PREFIX.length));
      try {
        const pinned = pinnedProgramIdentity(join(dir, name));
        if (!pinned) continue;
        const want = prog?.identity();
        if (want && want.tag === pinned.tag && want.xlatedLen === pinned.xlatedLen) recordPinnedCheck('tcp', 'matched');
        else {
          recordPinnedCheck('tcp', 'replaced');
          log(`tcp: the pinned program ${join(dir, name)} (tag ${pinned.tag}) is not the verified object's (${want ? `tag ${want.tag}` : 'no such program'}): not trusted, the verified program replaces it`);
        }
      } catch (err) {
        recordPinnedCheck('tcp', 'replaced');
        log(`tcp: the pinned program ${join(dir, name)} could not be read (${err instanceof Error ? err.message : String(err)}): not trusted, replaced`);
      }
    }
  };

  return {
    beforeAttach(obj) {
      if (!pinDir) return;
      comparePinnedPrograms(pinDir, obj);
      let prev: PreviousRun | undefined;
      try {
        prev = openPreviousRun({ objectPath: options.objectPath, pinDir, maps: { tcp_aggs: obj.map('tcp_aggs').maxEntries, tcp_meta: 1 } });
      } catch (err) {
        log(`tcp: the previous run's pinned counts could not be opened (counts restart from zero): ${err instanceof Error ? err.message : String(err)}`);
      }
      const links = detachPinnedLinks(pinDir);
      try {
        const old = prev?.entries('tcp_aggs') ?? [];
        const oldMeta = decodeMeta(prev?.entries('tcp_meta')[0]?.[1]);
        aggregates = carryAndPin({ mapName: 'tcp_aggs', pinDir, live: obj.map('tcp_aggs'), old });
        if (!prev || old.length + (oldMeta ? 1 : 0) === 0) gapFromMs = undefined; // nothing carried on: no gap in it
        else {
          meta = {
            startNs: oldMeta?.startNs || meta.startNs, gaps: (oldMeta?.gaps ?? 0n) + 1n, gapNs: oldMeta?.gapNs ?? 0n, detachedNs: 0n,
          };
          if (!links && oldMeta?.detachedNs) gapFromWallNs = oldMeta.detachedNs;
          if (!links && !oldMeta?.detachedNs) log('tcp: the previous run left its counts pinned with no program attached: the time since is a gap of unknown length');
          const st = aggregates.stats();
          log(`tcp: carried ${st.restored} aggregate(s) over from ${aggregates.path}${st.baseline ? ` (${st.baseline} held in user space: no room in the map)` : ''}${links ? `, took over from ${links} pinned link(s)` : ''}`);
        }
      } catch (err) {
        log(`tcp: aggregates not pinned (counts restart from zero next time): ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        prev?.close();
      }
    },
    afterAttach(obj, links) {
      if (gapFromMs !== undefined) meta.gapNs += BigInt(Math.round((performance.now() - gapFromMs) * 1e6));
      else if (gapFromWallNs !== undefined) meta.gapNs += wallNs() > gapFromWallNs ? wallNs() - gapFromWallNs : 0n;
      gapFromMs = gapFromWallNs = undefined;
      if (!pinDir) return;
      try {
        obj.map('tcp_meta').update(META_KEY, encodeMeta(meta));
        const metaPath = join(pinDir, 'tcp_meta');
        rmSync(metaPath, { force: true });
        obj.map('tcp_meta').pin(metaPath);
        // Programs, so `bpftool prog show pinned <pinDir>/tcp_prog_<name>` finds them.
        for (const [name, prog] of obj.programs) {
          const path = join(pinDir, `${PROG_PREFIX}${name}`);
          rmSync(path, { force: true });
          prog.pin(path);
        }
        for (const l of links) {
          const path = join(pinDir, `${LINK_PREFIX}${l.program}`);
          rmSync(path, { force: true });
          l.pin(path);
          pinnedLinks.push(l);
        }
      } catch (err) {
        log(`tcp: programs not pinned (a crash would stop the counting until the next start): ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    aggregates: () => aggregates,
    meta: () => ({ startTimeMs: Number(meta.startNs / 1_000_000n), gaps: Number(meta.gaps), gapSeconds: Number(meta.gapNs) / 1e9 }),
    release(obj, keep) {
      if (!pinDir) return;
      for (const l of pinnedLinks.splice(0)) {
        try {
          if (!l.destroyed) l.unpin();
        } catch (err) {
          log(`tcp: unpinning a link: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (keep && aggregates) {
        // Detach first so nothing counts while the baseline is folded in; the pin keeps the map.
        for (const l of [...obj.links]) l.destroy();
        aggregates.foldBaseline();
        meta.detachedNs = wallNs();
        try {
          obj.map('tcp_meta').update(META_KEY, encodeMeta(meta));
        } catch (err) {
          log(`tcp: noting the detach time: ${err instanceof Error ? err.message : String(err)}`);
        }
        return;
      }
      aggregates?.unpin();
      for (const name of readdirSync(pinDir)) {
        if (name === 'tcp_meta' || name.startsWith(PROG_PREFIX) || name.startsWith(LINK_PREFIX)) rmSync(join(pinDir, name), { force: true });
      }
    },
  };
}
