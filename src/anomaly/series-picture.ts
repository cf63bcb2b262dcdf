// SPDX-License-Identifier: Apache-2.0
/** Pictures of a scored series: a terminal sparkline and an SVG of series, band and alerts. */

export interface ScoredSeries {
  readonly name: string;
  readonly t: readonly number[];
  readonly v: readonly number[];
  readonly lo: readonly number[];
  readonly hi: readonly number[];
  readonly alerts: readonly number[]; // row indexes
}

const BARS = '▁▂▃▄▅▆▇█';

/** At most `width` characters; alerted buckets are marked below with `^`. */
export function sparkline(s: ScoredSeries, width = 60): string {
  const n = s.v.length;
  if (n === 0) return '';
  const cols = Math.min(width, n);
  const finite = s.v.filter((x) => Number.isFinite(x));
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  let line = '';
  let marks = '';
  const alerted = new Set(s.alerts.map((i) => Math.floor((i * cols) / n)));
  for (let c = 0; c < cols; c++) {
    const a = Math.floor((c * n) / cols);
    const b = Math.max(a + 1, Math.floor(((c + 1) * n) / cols));
    let m = -Infinity;
    for (let i = a; i < b; i++) if (Number.isFinite(s.v[i]!)) m = Math.max(m, s.v[i]!);
    line += m === -Infinity ? ' ' : BARS[max > min ? Math.round(((m - min) / (max - min)) * 7) : 0];
    marks += alerted.has(c) ? '^' : ' ';
  }
  return `${line}\n${marks.trimEnd()}`;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function seriesSvg(s: ScoredSeries, width = 900, height = 240): string {
  const n = s.v.length;
  const vals = [...s.v, ...s.lo, ...s.hi].filter((x) => Number.isFinite(x));
  const min = vals.length ? Math.min(...vals) : 0;
  const max = vals.length ? Math.max(...vals) : 1;
  const x = (i: number): string => ((i / Math.max(1, n - 1)) * (width - 20) + 10).toFixed(1);
  const y = (v: number): string => (height - 20 - ((v - min) / (max - min || 1)) * (height - 40)).toFixed(1);
  const path = (arr: readonly number[]): string => {
    let d = '';
    let pen = false;
    arr.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i)},${y(v)}`;
      pen = true;
    });
    return d;
  };
  const bandIdx = s.lo.map((_, i) => i).filter((i) => Number.isFinite(s.lo[i]!) && Number.isFinite(s.hi[i]!));
  const band = bandIdx.length ? `M${bandIdx.map((i) => `${x(i)},${y(s.hi[i]!)}`).join('L')}L${[...bandIdx].reverse().map((i) => `${x(i)},${y(s.lo[i]!)}`).join('L')}Z` : '';
  const marks = s.alerts.map((i) => `<circle cx="${x(i)}" cy="${y(s.v[i]!)}" r="4" fill="none" stroke="#d00" stroke-width="2"><title>alert at row ${i}: ${s.v[i]}</title></circle>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<title>${esc(s.name)}</title><rect width="100%" height="100%" fill="#fff"/>
<path d="${band}" fill="#9cf" fill-opacity="0.4" stroke="none"/>
<path d="${path(s.v)}" fill="none" stroke="#036" stroke-width="1"/>
${marks}
<text x="10" y="14" font-family="sans-serif" font-size="12">${esc(s.name)}: ${s.alerts.length} alert(s)</text>
</svg>
`;
}
