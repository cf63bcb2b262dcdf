// SPDX-License-Identifier: Apache-2.0
/**
 * Every event layout TypeScript decodes, one line per struct, and every
 * event kind it dispatches on. Unit tests compare the layouts with the BTF of
 * their compiled objects and the kinds with enum maxpro_event_kind.
 */
import type { EventLayout } from '../ebpf/index.js';
import { EVENT_HEADER } from '../ebpf/index.js';
import { RINGBUF_BENCH_EVENT, RINGBUF_BENCH_EVENT_KIND } from './ringbuf-bench/ringbuf-bench-event.js';
import { PROCESS_EVENT_KIND, PROCESS_EXEC_EVENT, PROCESS_EXIT_EVENT, PROCESS_FORK_EVENT } from './process/process-event.js';
import { TCP_CONN_EVENT, TCP_EVENT_KIND, TCP_SIGNAL_EVENT } from './tcp/tcp-event.js';

export const EVENT_LAYOUTS: readonly EventLayout[] = [
  EVENT_HEADER,
  RINGBUF_BENCH_EVENT,
  PROCESS_EXEC_EVENT,
  PROCESS_FORK_EVENT,
  PROCESS_EXIT_EVENT,
  TCP_CONN_EVENT,
  TCP_SIGNAL_EVENT,
];

/** `{connectFailed: 35}` under `TCP` -> `{TCP_CONNECT_FAILED: 35}`: the C enumerator names without `MAXPRO_EV_`. */
function enumNames(group: string, kinds: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [`${group}_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, v]));
}

/** Every kind TS decodes, by its enum maxpro_event_kind name without the `MAXPRO_EV_` prefix. */
export const EVENT_KINDS: Readonly<Record<string, number>> = {
  ...enumNames('PROCESS', PROCESS_EVENT_KIND),
  ...enumNames('TCP', TCP_EVENT_KIND),
  BENCH: RINGBUF_BENCH_EVENT_KIND,
};
