// SPDX-License-Identifier: Apache-2.0
/**
 * TCP overhead benchmark (`npm run bench -- tcp`). A C load generator makes
 * loopback connections from 2 client threads, each closed with an RST
 * (SO_LINGER {1, 0}), for a fixed time.
 *
 * Run-to-run noise here is about ±4% for a 2-second run (host noise in a
 * VM), larger than the effect measured. So the agent and the floor are
 * measured by toggling within one process lifetime: short samples alternate
 * off, on, off, on, ... and each `on` sample is compared with the mean of
 * the `off` samples either side of it; the figure is the median of those
 * pair ratios (with the quartiles). Slow drift cancels and outliers do not
 * move the median.
 *   floor     an empty program on every hook the agent uses (the cost of the
 *             hooks themselves), attached and detached in this process
 *   agent     the TCP probe, loaded once by a child Node process that reads
 *             and renders its aggregates every second; `off` detaches its
 *             programs and pauses its exporter
 *   bpftrace  a connect-latency histogram one-liner on the same tracepoint
 *   tcplife   libbpf-tools tcplife
 * The two peers cannot be toggled, so each of their rounds starts the tool,
 * takes one sample and stops it, between two base samples.
 *
 * Each sample also measures the CPU used by other processes (/proc/stat busy
 * time minus the load generator and the tracer), reported as `other_load`.
 * A second, interference-robust figure is the CPU cost per connection: load
 * generator CPU (which includes the loopback softirq and BPF work done in
 * its threads) plus the tracer process CPU, per connection, as a ratio
 * against base (`cpu_ratio_*`). A last agent sample with BPF stats on
 * measures the BPF run time (stats cost two clock reads per program run, so
 * the ratio samples leave them off).
 *
 * The benchmark raises its own priority (nice -10, inherited by every child:
 * the load generator, the agent, the peers) so that other work on a shared
 * machine disturbs it less.
 *
 * Flags: --pairs N (20), --seconds S (1, per toggled sample), --rounds N (5, peer rounds),
 *        --peer-seconds S (2), --clients N (2), --nice N (-10; 0 keeps the priority),
 *        --skip floor,bpftrace,tcplife
 */
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, setPriority } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openObjectFile } from '../../src/ebpf/index.js';
import type { BpfObject } from '../../src/ebpf/index.js';
import { benchFlag } from '../lib/bench-utils.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const outDir = join(root, 'bench/.output');
const pairs = Number(benchFlag('pairs', '20'));
const seconds = Number(benchFlag('seconds', '1'));
const rounds = Number(benchFlag('rounds', '5'));
const peerSeconds = Number(benchFlag('peer-seconds', '2'));
const clients = Number(benchFlag('clients', '2'));
const skip = new Set(benchFlag('skip', '').split(',').filter(Boolean));
const nice = Number(benchFlag('nice', '-10'));
const ncpu = cpus().length;

type Config = 'base' | 'floor' | 'agent' | 'bpftrace' | 'tcplife';

interface AgentReport {
  userUs: number; systemUs: number; bpfNs: number; wallNs: number; rssBytes: number; lost: number; lostByReason: Record<string, number>; records: number;
  globals: Record<string, number>;
}

function build(): { load: string; floor: string } {
  mkdirSync(outDir, { recursive: true });
  const load = join(outDir, 'conn-load');
  execFileSync('gcc', ['-O2', '-pthread', '-o', load, join(root, 'bench/tcp/conn-load.c')], { stdio: 'inherit' });
  const floor = join(outDir, 'tcp-floor.bpf.o');
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-I', join(root, `bpf/vmlinux/${arch}`),
    '-c', join(root, 'bench/tcp/floor.bpf.c'), '-o', floor], { stdio: 'inherit' });
  // Signed like every object the agent loads (docs/supply-chain.md).
  execFileSync(process.execPath, [join(root, 'scripts/sign-bpf.mjs'), '--dir', outDir, '--quiet'], { stdio: 'inherit' });
  return { load, floor };
}

interface LoadResult {
  rate: number;
  conns: number;
  wallS: number;
  /** CPU seconds of the load generator. */
  loadCpuS: number;
  /** CPU seconds the whole machine was busy. */
  busyS: number;
}

const CLK_TCK = 100;

function machineBusyS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  return (f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0)) / CLK_TCK;
}

/** user+sys CPU seconds of a process, from /proc/<pid>/stat. */
function processCpuS(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

function runLoad(load: string, secs = seconds): LoadResult {
  const busy0 = machineBusyS();
  const out = execFileSync(load, [String(clients), String(secs)], { encoding: 'utf8' });
  const busyS = machineBusyS() - busy0;
  const m = /connections=(\d+) seconds=([\d.]+) errors=(\d+) cpu=([\d.]+)/.exec(out);
  if (!m) throw new Error(`conn-load printed: ${out}`);
  return { rate: Number(m[1]) / Number(m[2]), conns: Number(m[1]), wallS: Number(m[2]), loadCpuS: Number(m[4]), busyS };
}

interface RunResult extends LoadResult {
  /** CPU seconds of the tracer's own process during the run. */
  tracerCpuS: number;
  report?: AgentReport;
}

function runWithTracer(load: string, pid: number | undefined, secs = seconds): RunResult {
  const c0 = processCpuS(pid);
  const r = runLoad(load, secs);
  return { ...r, tracerCpuS: processCpuS(pid) - c0 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function waitFor(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`timed out waiting for ${pattern}: ${buf.slice(-400)}`)), timeoutMs);
    const on = (d: Buffer): void => {
      buf += d.toString();
      if (pattern.test(buf)) {
        clearTimeout(t);
        res();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => { clearTimeout(t); rej(new Error(`exited ${code}: ${buf.slice(-400)}`)); });
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

const BPFTRACE = 'tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->newstate == 2/ { @start[args->skaddr] = nsecs; } '
  + 'tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->oldstate == 2 && @start[args->skaddr]/ '
  + '{ @connect_ns = hist(nsecs - @start[args->skaddr]); delete(@start[args->skaddr]); } '
  + 'END { clear(@start); }';

interface AgentChild {
  send(msg: string): Promise<unknown>;
  close(): Promise<void>;
}

async function startAgent(bpfStats: boolean): Promise<AgentChild> {
  const child = fork(join(root, 'dist/bench/tcp/tcp-agent.js'), bpfStats ? ['--bpf-stats'] : [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (): Promise<unknown> => new Promise((r, j) => {
    const onExit = (code: number | null): void => j(new Error(`tcp-agent exited ${code}`));
    child.once('exit', onExit);
    child.once('message', (m) => { child.off('exit', onExit); r(m); });
  });
  await next(); // ready
  await sleep(300);
  return {
    async send(msg: string): Promise<unknown> {
      const p = next();
      child.send(msg);
      return p;
    },
    async close(): Promise<void> {
      const done = new Promise((r) => child.once('exit', r));
      child.send('exit');
      await done;
    },
  };
}

/** One load sample with the agent attached, with the agent's own figures. */
async function agentSample(agent: AgentChild, load: string, secs = seconds): Promise<RunResult & { report: AgentReport }> {
  await agent.send('mark');
  const res = runLoad(load, secs);
  const report = (await agent.send('report')) as AgentReport;
  return { ...res, tracerCpuS: (report.userUs + report.systemUs) / 1e6, report };
}

interface Toggled { ratios: number[]; cpuRatios: number[]; on: RunResult[]; off: RunResult[] }

const costPerConn = (x: RunResult): number => (x.loadCpuS + x.tracerCpuS) / x.conns;

/**
 * off, on, off, on, ..., off (n `on` samples): each `on` against the mean of
 * the `off` samples either side of it.
 */
async function alternate(n: number, base: () => RunResult, on: () => Promise<RunResult>): Promise<Toggled> {
  const t: Toggled = { ratios: [], cpuRatios: [], on: [], off: [] };
  let before = base();
  t.off.push(before);
  for (let i = 0; i < n; i++) {
    const x = await on();
    const after = base();
    t.on.push(x);
    t.off.push(after);
    t.ratios.push(x.rate / ((before.rate + after.rate) / 2));
    t.cpuRatios.push(((costPerConn(before) + costPerConn(after)) / 2) / costPerConn(x));
    before = after;
  }
  return t;
}

/** A tracer switched on and off within one process lifetime, `pairs` times. */
async function toggled(load: string, on: () => Promise<RunResult>, setOn: (v: boolean) => Promise<void>): Promise<Toggled> {
  await setOn(false);
  return alternate(pairs, () => runWithTracer(load, undefined), async () => {
    await setOn(true);
    try {
      return await on();
    } finally {
      await setOn(false);
    }
  });
}

async function peerRun(config: 'bpftrace' | 'tcplife', load: string): Promise<RunResult> {
  const child = config === 'bpftrace'
    ? spawn('bpftrace', ['-e', BPFTRACE], { stdio: ['ignore', 'pipe', 'pipe'] })
    // stdbuf: tcplife's header is stdio-buffered when stdout is a pipe (stdbuf execs it: same pid).
    : spawn('stdbuf', ['-oL', '/usr/sbin/tcplife'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  await waitFor(child, config === 'bpftrace' ? /Attaching \d+ probe/ : /PID|COMM/, 30_000);
  await sleep(300);
  try {
    return runWithTracer(load, child.pid, peerSeconds);
  } finally {
    await stop(child);
  }
}

/** Rounds of base, peer, base: each peer run against the mean of its neighbours. */
function peerRounds(config: 'bpftrace' | 'tcplife', load: string): Promise<Toggled> {
  return alternate(rounds, () => runWithTracer(load, undefined, peerSeconds), () => peerRun(config, load));
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
};
const median = (xs: number[]): number => quantile(xs, 0.5);
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const otherLoad = (x: RunResult): number => Math.max(0, x.busyS - x.loadCpuS - x.tracerCpuS) / (x.wallS * ncpu);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the tcp benchmark needs root (it loads BPF programs)');
  const { load, floor } = build();
  if (nice !== 0) setPriority(0, nice);
  if (!existsSync('/usr/sbin/tcplife')) skip.add('tcplife');
  if (spawnSync('bpftrace', ['--version']).status !== 0) skip.add('bpftrace');
  console.log(`tcp bench: ${clients} clients, ${ncpu} CPUs, nice ${nice}; agent/floor: ${pairs} on/off pairs of ${seconds}s; `
    + `peers: ${rounds} rounds of ${peerSeconds}s (skipped: ${[...skip].join(',') || 'none'})`);

  const results: Partial<Record<Config, Toggled>> = {};
  const show = (c: Config, t: Toggled): void => {
    console.log(`${c}: ratio ${r3(median(t.ratios))} (quartiles ${r3(quantile(t.ratios, 0.25))}..${r3(quantile(t.ratios, 0.75))}), `
      + `CPU cost ratio ${r3(median(t.cpuRatios))}, base ${Math.round(median(t.off.map((x) => x.rate)))}/s, `
      + `other load ${r3(median([...t.on, ...t.off].map(otherLoad)) * 100)}%`);
  };

  // The agent, toggled.
  const agent = await startAgent(false);
  const agentReports: AgentReport[] = [];
  try {
    results.agent = await toggled(load, async () => {
      const x = await agentSample(agent, load);
      agentReports.push(x.report);
      return x;
    }, async (v) => { await agent.send(v ? 'on' : 'off'); });
  } finally {
    await agent.close();
  }
  show('agent', results.agent);

  if (!skip.has('floor')) {
    const obj: BpfObject = openObjectFile(floor, 'tcp_floor').load();
    try {
      const progs = [...obj.programs.keys()];
      results.floor = await toggled(load, () => Promise.resolve(runWithTracer(load, undefined)), (v) => {
        if (v) for (const p of progs) obj.program(p).attachTrace();
        else for (const l of [...obj.links]) l.destroy();
        return Promise.resolve();
      });
    } finally {
      obj.close();
    }
    show('floor', results.floor);
  }
  for (const peer of ['bpftrace', 'tcplife'] as const) {
    if (skip.has(peer)) continue;
    results[peer] = await peerRounds(peer, load);
    show(peer, results[peer]);
  }

  // BPF run time, with stats on (one extra agent sample).
  const statsAgent = await startAgent(true);
  let statsRun: RunResult & { report: AgentReport };
  try {
    await statsAgent.send('on');
    statsRun = await agentSample(statsAgent, load, 2);
  } finally {
    await statsAgent.close();
  }
  const rep = statsRun.report;
  const bpfPct = (rep.bpfNs / 1e9 / (rep.wallNs / 1e9) / ncpu) * 100;
  const agentCpuPct = median(agentReports.map((a) => ((a.userUs + a.systemUs) / 1e6 / (a.wallNs / 1e9) / ncpu) * 100));
  const lost = agentReports.reduce((s, a) => s + a.lost, 0) + rep.lost;
  // Where they were (kernel drop reasons, bpf_recursion: runs the kernel skipped, reader), non-zero ones only.
  const lostByReason: Record<string, number> = {};
  for (const a of [...agentReports, rep]) for (const [k, v] of Object.entries(a.lostByReason)) if (v) lostByReason[k] = (lostByReason[k] ?? 0) + v;
  const rssMb = Math.max(...agentReports.map((a) => a.rssBytes), rep.rssBytes) / (1 << 20);
  const ratio = (c: Config): number | null => (results[c] ? r3(median(results[c]!.ratios)) : null);
  const cpuRatio = (c: Config): number | null => (results[c] ? r3(median(results[c]!.cpuRatios)) : null);
  const quartiles = (c: Config): [number, number] | null => (results[c] ? [r3(quantile(results[c]!.ratios, 0.25)), r3(quantile(results[c]!.ratios, 0.75))] : null);
  /** Median over pairs of (on - mean of its neighbouring offs), CPU ns per connection. */
  const addedNs = (c: Config): number | null => {
    const t = results[c];
    if (!t) return null;
    return Math.round(median(t.on.map((x, i) => costPerConn(x) - (costPerConn(t.off[i]!) + costPerConn(t.off[i + 1]!)) / 2)) * 1e9);
  };
  const allSamples = Object.values(results).flatMap((t) => [...t.on, ...t.off]);

  const result = {
    bench: 'tcp',
    conn_per_sec_base: Math.round(median(results.agent.off.map((x) => x.rate))),
    ratio_agent: ratio('agent'),
    ratio_bpftrace: ratio('bpftrace'),
    ratio_tcplife: ratio('tcplife'),
    ratio_floor: ratio('floor'),
    agent_cpu_pct_machine: r3(agentCpuPct),
    bpf_cpu_pct_machine: r3(bpfPct),
    bpf_ns_per_conn: Math.round(rep.bpfNs / statsRun.conns),
    conn_per_sec_agent: Math.round(median(results.agent.on.map((x) => x.rate))),
    conn_per_sec_bpf_stats_run: Math.round(statsRun.rate),
    rss_mb: Math.round(rssMb * 10) / 10,
    lost,
    lost_by_reason: lostByReason,
    ratio_agent_quartiles: quartiles('agent'),
    ratio_floor_quartiles: quartiles('floor'),
    ratio_bpftrace_quartiles: quartiles('bpftrace'),
    ratio_tcplife_quartiles: quartiles('tcplife'),
    cpu_ratio_agent: cpuRatio('agent'),
    cpu_ratio_floor: cpuRatio('floor'),
    cpu_ratio_bpftrace: cpuRatio('bpftrace'),
    cpu_ratio_tcplife: cpuRatio('tcplife'),
    // CPU per connection (load generator + tracer process): what each configuration adds over base.
    cpu_ns_per_conn_base: Math.round(median(results.agent.off.map(costPerConn)) * 1e9),
    cpu_ns_added_per_conn_agent: addedNs('agent'),
    cpu_ns_added_per_conn_floor: addedNs('floor'),
    other_load_pct_median: r3(median(allSamples.map(otherLoad)) * 100),
    pairs,
    seconds,
    peer_rounds: rounds,
    peer_seconds: peerSeconds,
    clients,
    cpus: ncpu,
  };
  console.log(`agent CPU ${result.agent_cpu_pct_machine}% of the machine (user+sys of its process), BPF ${result.bpf_cpu_pct_machine}% `
    + `(${result.bpf_ns_per_conn} ns per connection with stats on), RSS ${result.rss_mb} MB, lost ${lost}`);
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
