// SPDX-License-Identifier: Apache-2.0
/**
 * Which lines a waterfall shows: the span tree narrowed to the errors or
 * the critical path, cut at a depth, and folded (runs of sibling subtrees
 * of the same shape become one line; past `fold` children the rest become
 * one line). Errors are never folded into a run: an error changes a
 * subtree's shape.
 */
import type { SpanNode, TraceTree } from './trace-tree.js';

/** How to narrow and fold the tree. */
export interface WaterfallView {
  /** Deepest level shown (roots are 0); what lies below becomes one line per cut span. */
  depth?: number;
  /** Fold runs of same-shape siblings, and show at most this many lines of children per span. */
  fold?: number;
  /** Only error spans and their ancestors. */
  errorsOnly?: boolean;
  /** Only the critical path: the spans whose ends the trace waited for. */
  criticalPath?: boolean;
}

/** One line of the waterfall, before drawing. */
export type WaterfallRow = {
  /** Per ancestor level below the root: whether that ancestor has later siblings (draw `│`). */
  guides: boolean[];
  last: boolean;
  depth: number;
} & ({
  type: 'span';
  node: SpanNode;
} | {
  /** `run`: same-shape siblings after the first; `more`: children past the fold limit; `below`: descendants past the depth limit. */
  type: 'run' | 'more' | 'below';
  /** Spans the line stands for (whole subtrees). */
  spans: number;
  /** Sibling subtrees it stands for (`below`: the cut span's children). */
  subtrees: number;
  errors: number;
  startNs: bigint;
  endNs: bigint;
  /** For `run`: the repeated span. */
  sample?: SpanNode;
  /** Durations of the subtrees' top spans, ns. */
  durations: number[];
});

const isError = (n: SpanNode): boolean => n.status.code === 2;

function subtreeStats(nodes: readonly SpanNode[]): { spans: number; errors: number; startNs: bigint; endNs: bigint } {
  let spans = 0, errors = 0;
  let startNs = BigInt(nodes[0]!.startTimeUnixNano), endNs = BigInt(nodes[0]!.endTimeUnixNano);
  const stack = [...nodes];
  while (stack.length) {
    const n = stack.pop()!;
    spans++;
    if (isError(n)) errors++;
    const a = BigInt(n.startTimeUnixNano), b = BigInt(n.endTimeUnixNano);
    if (a < startNs) startNs = a;
    if (b > endNs) endNs = b;
    for (const c of n.children) stack.push(c);
  }
  return { spans, errors, startNs, endNs };
}

/** The spans to keep for errors-only: errors and every ancestor of one. */
function errorPaths(roots: readonly SpanNode[]): Set<SpanNode> {
  const keep = new Set<SpanNode>();
  const visit = (n: SpanNode): boolean => {
    let any = isError(n);
    for (const c of n.children) if (visit(c)) any = true;
    if (any) keep.add(n);
    return any;
  };
  roots.forEach(visit);
  return keep;
}

/**
 * The critical path (as Jaeger draws it): from each root's end, take the
 * child that ended last, descend into it, move the cursor to its start, and
 * repeat with the children that ended by the cursor. A child's end past its
 * parent's counts as the parent's end.
 */
function criticalPath(roots: readonly SpanNode[]): Set<SpanNode> {
  const keep = new Set<SpanNode>();
  const walk = (n: SpanNode, limit: bigint): void => {
    keep.add(n);
    const start = BigInt(n.startTimeUnixNano);
    const end = BigInt(n.endTimeUnixNano) < limit ? BigInt(n.endTimeUnixNano) : limit;
    const endOf = (c: SpanNode): bigint => (BigInt(c.endTimeUnixNano) < end ? BigInt(c.endTimeUnixNano) : end);
    const byEnd = [...n.children].sort((a, b) => (endOf(b) > endOf(a) ? 1 : endOf(b) < endOf(a) ? -1 : 0));
    let cursor = end;
    for (const c of byEnd) {
      if (cursor <= start) break;
      if (endOf(c) > cursor) continue;
      walk(c, endOf(c));
      cursor = BigInt(c.startTimeUnixNano);
    }
  };
  for (const r of roots) walk(r, BigInt(r.endTimeUnixNano));
  return keep;
}

/** Lays the tree out as rows. */
export function waterfallRows(tree: TraceTree, view: WaterfallView = {}): WaterfallRow[] {
  let keep: Set<SpanNode> | undefined;
  if (view.errorsOnly) keep = errorPaths(tree.roots);
  if (view.criticalPath) {
    const cp = criticalPath(tree.roots);
    keep = keep ? new Set([...keep].filter((n) => cp.has(n))) : cp;
  }
  const kids = (n: SpanNode): SpanNode[] => (keep ? n.children.filter((c) => keep.has(c)) : n.children);
  const shapes = new Map<SpanNode, string>();
  const shape = (n: SpanNode): string => {
    let s = shapes.get(n);
    if (s === undefined) {
      s = `${n.service}\u0000${n.name}\u0000${n.kind}\u0000${isError(n) ? 'E' : ''}(${kids(n).map(shape).join(',')})`;
      shapes.set(n, s);
    }
    return s;
  };
  const rows: WaterfallRow[] = [];
  const summary = (type: 'run' | 'more' | 'below', nodes: SpanNode[], guides: boolean[], depth: number, last: boolean, sample?: SpanNode): WaterfallRow => ({
    type, guides, depth, last, subtrees: nodes.length, durations: nodes.map((x) => x.durationNs), ...subtreeStats(nodes), ...(sample ? { sample } : {}),
  });
  const walk = (n: SpanNode, guides: boolean[], last: boolean, depth: number): void => {
    rows.push({ type: 'span', node: n, guides, last, depth });
    const children = kids(n);
    if (children.length === 0) return;
    const childGuides = depth === 0 ? [] : [...guides, !last];
    if (view.depth !== undefined && depth >= view.depth) {
      rows.push(summary('below', children, childGuides, depth + 1, true));
      return;
    }
    // Groups: a run of same-shape siblings (when folding) or a single child.
    const groups: SpanNode[][] = [];
    for (const c of children) {
      const g = groups[groups.length - 1];
      if (view.fold !== undefined && g && shape(g[0]!) === shape(c)) g.push(c);
      else groups.push([c]);
    }
    const limit = view.fold ?? Infinity;
    let lines = 0;
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi]!;
      const need = g.length > 1 ? 2 : 1;
      const rest = groups.slice(gi);
      if (lines + need > limit && rest.length > 1) {
        rows.push(summary('more', rest.flat(), childGuides, depth + 1, true));
        return;
      }
      const lastGroup = gi === groups.length - 1;
      walk(g[0]!, childGuides, lastGroup && g.length === 1, depth + 1);
      if (g.length > 1) rows.push(summary('run', g.slice(1), childGuides, depth + 1, lastGroup, g[0]));
      lines += need;
    }
  };
  tree.roots.forEach((r, i) => walk(r, [], i === tree.roots.length - 1, 0));
  return rows;
}
