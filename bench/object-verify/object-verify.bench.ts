// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench -- object-verify [--runs 30]`: what verifying a BPF object
 * adds to its load. Per probe object, in the same run and interleaved:
 *   unverified  readFileSync + openObject (bytes straight to libbpf) + load
 *   verified    openObjectFile (read once, signature + manifest) + load
 *   verify      the read and verification alone (readVerifiedObject)
 * Medians in ms, the added fraction, CPU and RSS; ends with one JSON line.
 * Loading needs root (CAP_BPF); the verify-only figure does not.
 */
import { readFileSync } from 'node:fs';
import { cpuUsage, memoryUsage } from 'node:process';
import { bpfObjectPath, openObject, openObjectFile, readVerifiedObject } from '../../src/ebpf/index.js';
import { benchFlag, median, printFigures } from '../lib/bench-utils.js';

const RUNS = Number(benchFlag('runs', '30'));
const OBJECTS = ['tcp', 'process'];
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const canLoad = process.getuid?.() === 0;

const figures: Record<string, unknown> = { runs: RUNS, loads: canLoad };
const cpu0 = cpuUsage();
for (const name of OBJECTS) {
  const path = bpfObjectPath(name);
  const t = { unverified: [] as number[], verified: [] as number[], verify: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    let t0 = process.hrtime.bigint();
    readVerifiedObject(path);
    t.verify.push(ms(t0));
    if (!canLoad) continue;
    // Alternating which goes first: a load right after another one's close pays for its freeing.
    const order = i % 2 ? ['verified', 'unverified'] as const : ['unverified', 'verified'] as const;
    for (const which of order) {
      t0 = process.hrtime.bigint();
      if (which === 'unverified') openObject(readFileSync(path), name).load().close();
      else openObjectFile(path).load().close();
      t[which].push(ms(t0));
    }
  }
  const m = { verify: median(t.verify), unverified: canLoad ? median(t.unverified) : null, verified: canLoad ? median(t.verified) : null };
  const added = m.verified !== null && m.unverified !== null ? (m.verified - m.unverified) / m.unverified : null;
  console.error(`${name}: verify ${m.verify.toFixed(3)} ms` + (canLoad ? `; load unverified ${m.unverified!.toFixed(2)} ms, verified ${m.verified!.toFixed(2)} ms (${(added! * 100).toFixed(1)}% added)` : ' (not root: loads skipped)'));
  figures[name] = { verifyMs: +m.verify.toFixed(3), loadUnverifiedMs: m.unverified && +m.unverified.toFixed(2), loadVerifiedMs: m.verified && +m.verified.toFixed(2), addedRatio: added === null ? null : +added.toFixed(4) };
}
const cpu = cpuUsage(cpu0);
figures['cpuSeconds'] = +((cpu.user + cpu.system) / 1e6).toFixed(2);
figures['rssMb'] = +(memoryUsage().rss / 2 ** 20).toFixed(1);
printFigures(figures);
