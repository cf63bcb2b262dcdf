// SPDX-License-Identifier: Apache-2.0
// Ring-buffer benchmark: one producer (a tight getppid loop hitting a tp_btf
// program that submits 64-byte events with BPF_RB_NO_WAKEUP) drained by
// (a) a minimal C libbpf consumer and (b) MaxPro's native->JS batch path with
// a realistic decoder, alternating within one run. Prints events/s, consumer
// CPU ns per event, the ratio b/a and losses; ends with one JSON line.
// Flags: --seconds N (per run, default 3), --rounds N (default 3).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openObjectFile, bpfObjectPath } from '../../src/ebpf/index.js';
import { compileC, median, printFigures, spawnLines } from '../lib/bench-utils.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const RING = 1 << 24;
const INTERVAL_MS = 10;

if (process.getuid?.() !== 0) {
  console.error('ringbuf bench needs root (it loads BPF programs)');
  process.exit(2);
}

const producerBin = compileC('ringbuf', 'producer');
const consumerBin = compileC('ringbuf', 'consumer', ['-lbpf']);
const nodeConsumer = fileURLToPath(new URL('./node-consumer.js', import.meta.url));
const objPath = bpfObjectPath('ringbuf_bench');
const spec = openObjectFile(objPath);
const off = (n: string): number => spec.variables['.rodata']!.find((v) => v.name === n)!.offset;
const tgidOff = off('targ_tgid');
const sysOff = off('targ_syscall');
const wakeOff = off('maxpro_wakeup_bytes');
spec.close();

interface Run { produced: number; secs: number; received: number; cpuNs: number; lost: number; rssMb?: number }

async function runOnce(kind: 'none' | 'c' | 'node'): Promise<Run> {
  const prod = spawnLines(producerBin, [String(SECONDS)]);
  const pid = Number((await prod.next()).split(' ')[1]);
  let cons: ReturnType<typeof spawnLines> | undefined;
  if (kind === 'c') cons = spawnLines(consumerBin, [objPath, String(pid), String(tgidOff), String(sysOff), String(RING), String(INTERVAL_MS), String(wakeOff)]);
  if (kind === 'node') cons = spawnLines(process.execPath, [nodeConsumer, String(pid), String(RING), String(INTERVAL_MS)]);
  if (cons) {
    const r = await cons.next();
    if (r !== 'ready') throw new Error(`consumer: ${r}`);
  }
  prod.proc.stdin.write('go\n');
  const [n, secs] = (await prod.next()).split(' ').map(Number);
  if (!cons) return { produced: n!, secs: secs!, received: 0, cpuNs: 0, lost: 0 };
  await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
  cons.proc.kill('SIGINT');
  const [received, cpuNs, lost, rss] = (await cons.next()).split(' ').map(Number);
  return { produced: n!, secs: secs!, received: received!, cpuNs: cpuNs!, lost: lost!, ...(rss !== undefined ? { rssMb: rss } : {}) };
}

const runs: Record<'none' | 'c' | 'node', Run[]> = { none: [], c: [], node: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const kind of ['none', 'c', 'node'] as const) {
    const r = await runOnce(kind);
    runs[kind].push(r);
    const rate = (kind === 'none' ? r.produced : r.received) / r.secs;
    console.log(`round ${i + 1} ${kind.padEnd(4)} ${(rate / 1e6).toFixed(3)} M ev/s` + (kind === 'none' ? ' (syscalls, no BPF)' :
      `  ${(r.cpuNs / Math.max(r.received, 1)).toFixed(1)} ns CPU/event  produced ${r.produced} received ${r.received} lost ${r.lost}`));
  }
}

const rate = (rs: Run[]): number => median(rs.map((r) => r.received / r.secs));
const nsPer = (rs: Run[]): number => median(rs.map((r) => r.cpuNs / Math.max(r.received, 1)));
const lostOf = (rs: Run[]): number => rs.reduce((a, r) => a + r.lost + (r.produced - r.received - r.lost), 0);
const cNs = nsPer(runs.c);
const nodeNs = nsPer(runs.node);
const figures = {
  bench: 'ringbuf',
  events_per_sec: Math.round(rate(runs.node)),
  node_cpu_ns_per_event: Number(nodeNs.toFixed(1)),
  c_cpu_ns_per_event: Number(cNs.toFixed(1)),
  ratio_ns_per_event_vs_c: Number((nodeNs / cNs).toFixed(2)),
  lost: lostOf(runs.node),
  c_events_per_sec: Math.round(rate(runs.c)),
  c_lost: lostOf(runs.c),
  syscalls_per_sec_no_bpf: Math.round(median(runs.none.map((r) => r.produced / r.secs))),
  node_rss_mb: median(runs.node.map((r) => r.rssMb ?? 0)),
  event_bytes: 64,
  seconds_per_run: SECONDS,
  rounds: ROUNDS,
};
console.log('');
console.log(`(a) C libbpf consumer:  ${(figures.c_events_per_sec / 1e6).toFixed(3)} M ev/s, ${cNs.toFixed(1)} ns CPU/event, lost ${figures.c_lost}`);
console.log(`(b) MaxPro native->JS:  ${(figures.events_per_sec / 1e6).toFixed(3)} M ev/s, ${nodeNs.toFixed(1)} ns CPU/event, lost ${figures.lost}, RSS ${figures.node_rss_mb} MiB`);
console.log(`ratio b/a (ns per event): ${figures.ratio_ns_per_event_vs_c}; target: >= 1.5M ev/s, 0 lost, <= 80 ns Node CPU per event`);
printFigures(figures);
