// SPDX-License-Identifier: Apache-2.0
/**
 * Every event layout TypeScript decodes and every event kind it dispatches
 * on: the shared header, the ring-buffer benchmark's event, and each
 * registered probe's (its module's `events()`). Unit tests compare the
 * layouts with the BTF of their compiled objects and the kinds with enum
 * maxpro_event_kind.
 */
import type { EventLayout } from '../ebpf/index.js';
import { EVENT_HEADER } from '../ebpf/index.js';
import { RINGBUF_BENCH_EVENT, RINGBUF_BENCH_EVENT_KIND } from './ringbuf-bench/ringbuf-bench-event.js';
import { probeModules } from './registry.js';

/** `{connectFailed: 35}` under `TCP` -> `{TCP_CONNECT_FAILED: 35}`: the C enumerator names without `MAXPRO_EV_`. */
function enumNames(group: string, kinds: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [`${group}_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, v]));
}

export interface EventCatalog {
  layouts: readonly EventLayout[];
  /** Every kind TS decodes, by its enum maxpro_event_kind name without the `MAXPRO_EV_` prefix. */
  kinds: Readonly<Record<string, number>>;
}

export async function eventCatalog(): Promise<EventCatalog> {
  const layouts: EventLayout[] = [EVENT_HEADER, RINGBUF_BENCH_EVENT];
  const kinds: Record<string, number> = { BENCH: RINGBUF_BENCH_EVENT_KIND };
  for (const m of probeModules()) {
    const e = await m.events?.();
    if (!e) continue;
    layouts.push(...e.layouts);
    Object.assign(kinds, enumNames(e.group, e.kinds));
  }
  return { layouts, kinds };
}
