// SPDX-License-Identifier: Apache-2.0
// MaxPro's path for the ring-buffer benchmark, in its own process so its CPU
// is its own: native batch drain -> dispatcher -> a realistic decoder that
// reads every field (comm included) and aggregates per pid.
// Usage: node-consumer <tgid> <ring-bytes> <interval-ms>
// Prints "ready"; on SIGINT prints "<records> <cpu-ns> <lost> <rss-mb>".
import {
  openObjectFile, bpfObjectPath, createRingBufferReader, createEventDispatcher, readDropCounts,
} from '../../src/ebpf/index.js';
import { decodeRingbufBenchEvent, RINGBUF_BENCH_EVENT, RINGBUF_BENCH_EVENT_KIND } from '../../src/probes/ringbuf-bench/ringbuf-bench-event.js';
import type { RingbufBenchEvent } from '../../src/probes/ringbuf-bench/ringbuf-bench-event.js';

const [tgid, ring, interval] = process.argv.slice(2).map(Number);
const spec = openObjectFile(bpfObjectPath('ringbuf_bench'));
spec.setConstant('targ_tgid', tgid!).setConstant('targ_syscall', 110).setMaxEntries('events', ring!);
spec.setConstant('maxpro_wakeup_bytes', ring! / 2);
const obj = spec.load();
obj.program('ringbuf_bench__sys_enter').attachTrace();

const ev = {} as RingbufBenchEvent;
const perPid = new Map<number, { count: number; lastSeq: number; comm: string }>();
let decoded = 0;
const dispatcher = createEventDispatcher({
  decoders: new Map([[RINGBUF_BENCH_EVENT_KIND, {
    version: 1,
    minSize: RINGBUF_BENCH_EVENT.size,
    decode(view, off, _len, bytes) {
      decodeRingbufBenchEvent(view, off, bytes, ev);
      let agg = perPid.get(ev.pid);
      if (!agg) {
        agg = { count: 0, lastSeq: 0, comm: ev.comm };
        perPid.set(ev.pid, agg);
      }
      agg.count++;
      agg.lastSeq = ev.seq;
      decoded++;
    },
  }]]),
});
const reader = createRingBufferReader({ map: obj.map('events'), intervalMs: interval!, onBatch: (b) => dispatcher.dispatch(b) });
const c0 = process.cpuUsage();
process.stdout.write('ready\n');
process.once('SIGINT', () => {
  void reader.close().then(() => {
    const c = process.cpuUsage(c0);
    const s = reader.stats();
    const lost = readDropCounts(obj).ringbuf_full + BigInt(s.queueDrops + s.oversizeDrops);
    const rss = process.memoryUsage.rss() / (1 << 20);
    process.stdout.write(`${decoded} ${(c.user + c.system) * 1000} ${lost} ${rss.toFixed(1)}\n`);
    obj.close();
  });
});
