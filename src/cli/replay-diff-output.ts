// SPDX-License-Identifier: Apache-2.0
/** The text report of `maxpro replay --diff`. */
import type { CaptureDiff, DetectorVerdict } from '../capture/capture-diff.js';
import { escapeControl } from '../collector/waterfall.js';

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const op = (o: { service: string; operation: string }): string => escapeControl(`${o.service}: ${o.operation}`);

function verdict(v: DetectorVerdict): string {
  if (v.rows === 0) return 'no data';
  if (v.alerts === 0) return `normal (max score ${v.maxScore.toFixed(2)}, ${v.rows} s)`;
  const f = v.first!;
  return `${v.alerts} alert(s), first at ${new Date(f.t).toISOString().slice(11, 19)}: ${ms(f.value)} ms vs expected ${ms(f.expected)} (${f.member}, score ${f.score.toFixed(2)})`;
}

export function formatDiff(fileA: string, fileB: string, d: CaptureDiff): string {
  const L: string[] = [`diff ${fileA} (${d.durationSec.before.toFixed(0)} s) → ${fileB} (${d.durationSec.after.toFixed(0)} s)`, ''];
  L.push(`services added: ${d.services.added.map(escapeControl).join(', ') || 'none'}`);
  L.push(`services gone:  ${d.services.gone.map(escapeControl).join(', ') || 'none'}`);
  L.push(`operations added: ${d.operations.added.length ? d.operations.added.map((o) => `${op(o)} (${o.count})`).join(', ') : 'none'}`);
  L.push(`operations gone:  ${d.operations.gone.length ? d.operations.gone.map((o) => `${op(o)} (${o.count})`).join(', ') : 'none'}`);
  L.push('', `changed operations: ${d.changed.length} (${d.unchanged} unchanged)`);
  for (const c of d.changed) {
    L.push(`  ${op(c)}  [${c.changes.join(', ')}]`);
    L.push(`    p50 ${ms(c.before.p50Ms)} → ${ms(c.after.p50Ms)} ms, p99 ${ms(c.before.p99Ms)} → ${ms(c.after.p99Ms)} ms, errors ${pct(c.before.errorRatio)} → ${pct(c.after.errorRatio)}, rate ${c.before.ratePerSec.toFixed(2)} → ${c.after.ratePerSec.toFixed(2)}/s`);
    L.push(`    detector: before ${verdict(c.verdicts.before)}; after ${verdict(c.verdicts.after)}`);
    L.push(`    detector, after against before: ${verdict(c.verdicts.afterAgainstBefore)}`);
  }
  const ev = d.events.filter((e) => e.before !== e.after);
  if (ev.length) {
    L.push('', 'events:');
    for (const e of ev) L.push(`  ${e.name.padEnd(24)} ${String(e.before).padStart(8)} → ${e.after}`);
  }
  return `${L.join('\n')}\n`;
}
