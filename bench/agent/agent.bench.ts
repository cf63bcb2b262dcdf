// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench -- agent [--seconds N] [--clients N] [--config FILE] [--soak]`
 *
 * Runs `maxpro agent` (both probes, the given or the default configuration)
 * as a child process and measures its CPU (percent of the whole machine) and
 * RSS: idle, then under the loopback TCP connect/close load of bench/tcp.
 * `--soak` instead runs the load for 10 minutes and reports RSS every 30 s
 * and its drift (on demand; not for CI). Ends with one JSON line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../src/ebpf/index.js';
import { median, printFigures, procCpuNs, procRssMb } from '../lib/bench-utils.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' }, clients: { type: 'string', default: '2' }, config: { type: 'string' },
    soak: { type: 'boolean', default: false }, port: { type: 'string', default: '19477' },
  },
});
const seconds = Number(values.seconds);
const root = repoRoot();
const ncpu = availableParallelism();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function compileLoad(): string {
  const outDir = resolve(root, 'bench/.output');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'conn-load');
  execFileSync('gcc', ['-O2', '-pthread', '-o', out, join(root, 'bench/tcp/conn-load.c')], { stdio: 'inherit' });
  return out;
}

interface Window { cpuPctMachine: number; rssMbMedian: number; rssMbMax: number; rssSeries: number[] }

/** Samples the agent's CPU and RSS over `ms`. */
async function measure(pid: number, ms: number, everyMs = 1000): Promise<Window> {
  const cpu0 = procCpuNs(pid);
  const t0 = process.hrtime.bigint();
  const rss: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(Math.min(everyMs, end - Date.now()));
    rss.push(procRssMb(pid));
  }
  const wallNs = Number(process.hrtime.bigint() - t0);
  return { cpuPctMachine: ((procCpuNs(pid) - cpu0) / (wallNs * ncpu)) * 100, rssMbMedian: median(rss), rssMbMax: Math.max(...rss), rssSeries: rss };
}

async function scrape(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const pick = (re: RegExp): number => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  const byReason: Record<string, number> = {};
  for (const m of text.matchAll(/^maxpro_probe_lost_events_total\{probe="(\w+)",reason="(\w+)"\} (\S+)$/gm)) {
    byReason[`lost_${m[1]}_${m[2]}`] = (byReason[`lost_${m[1]}_${m[2]}`] ?? 0) + Number(m[3]);
  }
  return {
    ...byReason,
    tcp_events: pick(/^maxpro_probe_events_total\{probe="tcp"\} (\S+)$/gm),
    lost: pick(/^maxpro_probe_lost_events_total\{[^}]*\} (\S+)$/gm),
    loop_p99_s: pick(/^maxpro_nodejs_eventloop_delay_seconds\{stat="p99"\} (\S+)$/gm),
    bpf_s: pick(/^maxpro_probe_bpf_run_seconds_total\{[^}]*\} (\S+)$/gm),
  };
}

async function main(): Promise<void> {
  const load = compileLoad();
  const port = Number(values.port);
  const pinDir = `/sys/fs/bpf/maxpro-bench-${process.pid}`;
  const args = [join(root, 'bin/maxpro.js'), 'agent', '--listen', `127.0.0.1:${port}`, '--pin-dir', pinDir, '--no-keep-pinned', ...(values.config ? ['--config', values.config] : [])];
  const agent = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  agent.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const pid = agent.pid!;
  const url = `http://127.0.0.1:${port}`;
  try {
    // Ready: both probes loaded and the endpoint answering.
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/readyz`)).ok) break;
      } catch { /* starting */ }
      if (agent.exitCode !== null || Date.now() > until) throw new Error(`agent did not become ready: ${stderr}`);
      await sleep(200);
    }
    await sleep(5000); // settle after start-up (module load, map setup)
    const idle = await measure(pid, seconds * 1000);
    process.stderr.write(`idle: cpu ${idle.cpuPctMachine.toFixed(2)}% of machine, rss ${idle.rssMbMedian.toFixed(1)} MiB\n`);

    const loadSeconds = values.soak ? 600 : seconds;
    const before = await scrape(`${url}/metrics`);
    const tBefore = Date.now();
    const gen = spawn(load, [values.clients!, String(loadSeconds + 2)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let genOut = '';
    gen.stdout.on('data', (d: Buffer) => { genOut += d.toString(); });
    await sleep(1000);
    const loaded = await measure(pid, loadSeconds * 1000, values.soak ? 30_000 : 1000);
    await new Promise((r) => gen.on('exit', r));
    const after = await scrape(`${url}/metrics`);
    const scrapedSeconds = (Date.now() - tBefore) / 1000;
    const conns = Number(/connections=(\d+)/.exec(genOut)?.[1] ?? 0);
    const genSecs = Number(/seconds=([\d.]+)/.exec(genOut)?.[1] ?? loadSeconds);
    process.stderr.write(`loaded: ${(conns / genSecs).toFixed(0)} conn/s, cpu ${loaded.cpuPctMachine.toFixed(2)}% of machine, rss ${loaded.rssMbMedian.toFixed(1)} MiB (max ${loaded.rssMbMax.toFixed(1)})\n`);
    const series = loaded.rssSeries;
    const figures: Record<string, unknown> = {
      bench: 'agent',
      rss_mb_idle: Number(idle.rssMbMedian.toFixed(1)),
      rss_mb_loaded: Number(loaded.rssMbMedian.toFixed(1)),
      cpu_pct_machine_idle: Number(idle.cpuPctMachine.toFixed(3)),
      cpu_pct_machine_loaded: Number(loaded.cpuPctMachine.toFixed(3)),
      rss_mb_loaded_max: Number(loaded.rssMbMax.toFixed(1)),
      conn_per_s: Math.round(conns / genSecs),
      tcp_records: after.tcp_events! - before.tcp_events!,
      lost_events: after.lost! - before.lost!,
      // Where the losses were, by probe and reason (only those that moved).
      lost_by_reason: Object.fromEntries(Object.keys(after).filter((k) => k.startsWith('lost_') && after[k]! - (before[k] ?? 0) > 0)
        .map((k) => [k.slice('lost_'.length), after[k]! - (before[k] ?? 0)])),
      // BPF programs run in the context of the traced tasks, not the agent's: their cost is reported apart.
      bpf_cpu_pct_machine_loaded: Number((((after.bpf_s! - before.bpf_s!) / (scrapedSeconds * ncpu)) * 100).toFixed(3)),
      eventloop_p99_s: after.loop_p99_s,
      load_seconds: loadSeconds,
      clients: Number(values.clients),
      ncpu,
      config: values.config ?? 'defaults',
    };
    if (values.soak) {
      figures.soak_rss_mb_series = series.map((x) => Number(x.toFixed(1)));
      figures.soak_rss_mb_drift = Number((series[series.length - 1]! - series[0]!).toFixed(1));
    }
    printFigures(figures);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => { agent.on('exit', r); setTimeout(r, 10_000).unref(); });
    if (agent.exitCode === null) agent.kill('SIGKILL');
  }
}

await main();
