// SPDX-License-Identifier: Apache-2.0
/**
 * Every event layout TypeScript decodes, one line per struct. A unit test
 * compares each with the BTF of its compiled object.
 */
import type { EventLayout } from '../ebpf/index.js';
import { EVENT_HEADER } from '../ebpf/index.js';
import { RINGBUF_BENCH_EVENT } from './ringbuf-bench/ringbuf-bench-event.js';
import { PROCESS_EXEC_EVENT, PROCESS_EXIT_EVENT, PROCESS_FORK_EVENT } from './process/process-event.js';
import { TCP_CONN_EVENT, TCP_SIGNAL_EVENT } from './tcp/tcp-event.js';

export const EVENT_LAYOUTS: readonly EventLayout[] = [
  EVENT_HEADER,
  RINGBUF_BENCH_EVENT,
  PROCESS_EXEC_EVENT,
  PROCESS_FORK_EVENT,
  PROCESS_EXIT_EVENT,
  TCP_CONN_EVENT,
  TCP_SIGNAL_EVENT,
];
