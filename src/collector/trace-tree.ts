// SPDX-License-Identifier: Apache-2.0
/** Builds the span tree of a trace from its flat span list. */
import type { StoredSpan } from './span-store.js';

/** A span with its children, oldest child first. */
export type SpanNode = StoredSpan & { children: SpanNode[] };

/** A trace as a tree. Spans whose parent was not received become roots. */
export interface TraceTree {
  traceId: string;
  spanCount: number;
  services: string[];
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  durationNs: number;
  errorCount: number;
  roots: SpanNode[];
}

/** Arranges spans (any order) into a tree; children and roots are sorted by start time. */
export function buildTraceTree(traceId: string, spans: readonly StoredSpan[]): TraceTree {
  const nodes = new Map<string, SpanNode>();
  for (const s of spans) nodes.set(s.spanId, { ...s, children: [] });
  const roots: SpanNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.parentSpanId !== undefined ? nodes.get(n.parentSpanId) : undefined;
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  const byStart = (a: SpanNode, b: SpanNode): number => {
    const d = BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  };
  for (const n of nodes.values()) n.children.sort(byStart);
  roots.sort(byStart);
  let start = spans.length ? BigInt(spans[0]!.startTimeUnixNano) : 0n;
  let end = spans.length ? BigInt(spans[0]!.endTimeUnixNano) : 0n;
  for (const s of spans) {
    const a = BigInt(s.startTimeUnixNano);
    const b = BigInt(s.endTimeUnixNano);
    if (a < start) start = a;
    if (b > end) end = b;
  }
  return {
    traceId,
    spanCount: spans.length,
    services: [...new Set(spans.map((s) => s.service))].sort(),
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: end.toString(),
    durationNs: Number(end - start),
    errorCount: spans.filter((s) => s.status.code === 2).length,
    roots,
  };
}
