// SPDX-License-Identifier: Apache-2.0
/**
 * Exec storm benchmark: a fork+exec loop of `/bin/true a1 a2`, measured in
 * one run with no agent, with the process probe's agent on, and with
 * libbpf-tools' execsnoop on, alternating per round. Prints exec/s and the
 * ratio to the baseline of the same round, events captured against execs
 * performed, the agent's CPU, and its RSS after 10k and after 200k execs.
 * Ends with one JSON line.
 *
 * Usage: npm run bench -- exec [--rounds 15] [--execs 3000] [--rss-execs 200000]
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { values } = parseArgs({
  options: {
    // Many short, alternating segments: on a shared 2-vCPU VM the load of
    // other work drifts, and only close-in-time pairs compare fairly.
    'rounds': { type: 'string', default: '15' },
    'execs': { type: 'string', default: '3000' },
    'rss-execs': { type: 'string', default: '200000' },
    'execsnoop': { type: 'string', default: '/usr/sbin/execsnoop' },
  },
});
const ROUNDS = Number(values.rounds);
const EXECS = Number(values.execs);
const RSS_EXECS = Number(values['rss-execs']);
const EXECSNOOP = values.execsnoop!;
const CLK_TCK = 100;
const PAGE_KB = 4;

function buildLoop(): string {
  const out = join(root, 'bench/.output');
  mkdirSync(out, { recursive: true });
  const bin = join(out, 'exec-loop');
  execFileSync('gcc', ['-O2', '-o', bin, join(root, 'bench/exec/exec-loop.c')]);
  return bin;
}

interface LoopResult { pid: number; count: number; seconds: number; rate: number; cpuUsPerExec: number }

function runLoop(bin: string, count: number): Promise<LoopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`exec loop exited ${code}`));
      const [n, ns, cpuNs] = out.trim().split(' ').map(Number);
      const seconds = ns! / 1e9;
      resolve({ pid: child.pid!, count: n!, seconds, rate: n! / seconds, cpuUsPerExec: cpuNs! / 1e3 / n! });
    });
  });
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
}

function rssMb(pid: number): number {
  const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
  return (Number(statm[1]) * PAGE_KB) / 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface AgentStats { seen: Record<string, number>; complete: Record<string, number>; lost: number; lostBy: Record<string, number>; events: Record<string, number>; cache: number }

interface Agent { child: ChildProcess; stats(): Promise<AgentStats>; stop(): Promise<void> }

async function startAgent(): Promise<Agent> {
  // The agent's runtime flag (docs/process-events.md): a small young
  // generation keeps RSS flat under a steady stream of short-lived records.
  const child = fork(join(root, 'dist/bench/exec/exec-agent.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-semi-space-size=2'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`agent said ${String(m)}`))));
    child.once('exit', (c) => reject(new Error(`agent exited ${c}`)));
  });
  return {
    child,
    stats: () => new Promise((resolve) => {
      child.once('message', (m) => resolve(m as AgentStats));
      child.send('stats');
    }),
    stop: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.send('stop');
    }),
  };
}

interface Snoop { child: ChildProcess; lines: string[] }

async function startExecsnoop(): Promise<Snoop> {
  const child = spawn(EXECSNOOP, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let ready = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      if (/^PCOMM/.test(l)) ready = true;
      else lines.push(l);
    }
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += String(d); });
  // With stdout on a pipe execsnoop buffers its output (the cheapest way to
  // run it), so the header may not show: give it time to load and attach.
  const end = Date.now() + 3000;
  while (!ready && Date.now() < end && child.exitCode === null) await sleep(20);
  if (child.exitCode !== null) throw new Error(`execsnoop exited ${child.exitCode}: ${err.trim()}`);
  await sleep(200);
  return { child, lines };
}

async function stopExecsnoop(s: Snoop): Promise<void> {
  await sleep(300);
  await new Promise<void>((resolve) => {
    s.child.once('exit', () => resolve());
    s.child.kill('SIGINT');
  });
}

/** execsnoop lines `PCOMM PID PPID RET ARGS` of /bin/true children of `ppid`. */
function countSnoop(lines: readonly string[], ppid: number): { seen: number; complete: number } {
  let seen = 0;
  let complete = 0;
  for (const l of lines) {
    const f = l.trim().split(/\s+/);
    if (f[0] !== 'true' || Number(f[2]) !== ppid) continue;
    seen++;
    if (f.slice(4).join(' ') === '/bin/true a1 a2') complete++;
  }
  return { seen, complete };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  if (!existsSync(EXECSNOOP)) throw new Error(`${EXECSNOOP} not found (Debian package libbpf-tools)`);
  const loop = buildLoop();
  await runLoop(loop, 500); // warm caches
  const base: number[] = [];
  const agentRatio: number[] = [];
  const snoopRatio: number[] = [];
  const agentRate: number[] = [];
  const snoopRate: number[] = [];
  const agentCpu: number[] = [];
  const agentCpuUs: number[] = []; // agent process CPU per exec
  const snoopCpuUs: number[] = [];
  const loopCpu = { base: [] as number[], agent: [] as number[], snoop: [] as number[] };
  let performed = 0;
  let captured = 0;
  let agentSeen = 0;
  let lost = 0;
  const lostBy: Record<string, number> = {};
  const addLost = (by: Record<string, number>): void => {
    for (const [k, v] of Object.entries(by)) if (v) lostBy[k] = (lostBy[k] ?? 0) + v;
  };
  let snoopPerformed = 0;
  let snoopSeen = 0;
  let snoopComplete = 0;
  console.log(`exec storm: ${ROUNDS} rounds x ${EXECS} execs of /bin/true a1 a2; baseline, agent, execsnoop alternate`);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no configuration always runs first.
    const order = (['base', 'agent', 'snoop'] as const).map((_, i, a) => a[(i + round) % 3]!);
    let b = 0;
    let a = 0;
    let s = 0;
    for (const what of order) {
      if (what === 'base') {
        const res = await runLoop(loop, EXECS);
        b = res.rate;
        loopCpu.base.push(res.cpuUsPerExec);
      } else if (what === 'agent') {
        const agent = await startAgent();
        await sleep(300);
        const c0 = cpuSeconds(agent.child.pid!);
        const res = await runLoop(loop, EXECS);
        const c1 = cpuSeconds(agent.child.pid!);
        await sleep(100);
        const st = await agent.stats();
        await agent.stop();
        a = res.rate;
        loopCpu.agent.push(res.cpuUsPerExec);
        agentCpu.push(((c1 - c0) / res.seconds) * 100);
        agentCpuUs.push(((c1 - c0) * 1e6) / res.count);
        performed += res.count;
        captured += st.complete[String(res.pid)] ?? 0;
        agentSeen += st.seen[String(res.pid)] ?? 0;
        lost += st.lost;
        addLost(st.lostBy);
      } else {
        const snoop = await startExecsnoop();
        const c0 = cpuSeconds(snoop.child.pid!);
        const res = await runLoop(loop, EXECS);
        const c1 = cpuSeconds(snoop.child.pid!);
        await stopExecsnoop(snoop);
        loopCpu.snoop.push(res.cpuUsPerExec);
        snoopCpuUs.push(((c1 - c0) * 1e6) / res.count);
        s = res.rate;
        const c = countSnoop(snoop.lines, res.pid);
        snoopPerformed += res.count;
        snoopSeen += c.seen;
        snoopComplete += c.complete;
      }
    }
    base.push(b);
    agentRate.push(a);
    snoopRate.push(s);
    agentRatio.push(a / b);
    snoopRatio.push(s / b);
    console.log(`round ${round + 1}: base ${b.toFixed(0)}/s, agent ${a.toFixed(0)}/s (${(a / b).toFixed(3)}), execsnoop ${s.toFixed(0)}/s (${(s / b).toFixed(3)})`);
  }

  // Memory: one agent through 10k, then RSS_EXECS execs in total.
  console.log(`rss: agent through 10000 then ${RSS_EXECS} execs`);
  const agent = await startAgent();
  await sleep(300);
  const first = await runLoop(loop, 10_000);
  await sleep(200);
  const rss10k = rssMb(agent.child.pid!);
  let rest = RSS_EXECS - 10_000;
  const pids = [first.pid];
  while (rest > 0) {
    const n = Math.min(rest, 50_000);
    const res = await runLoop(loop, n);
    pids.push(res.pid);
    rest -= n;
    console.log(`  ${RSS_EXECS - rest} execs: rss ${rssMb(agent.child.pid!).toFixed(1)} MB`);
  }
  await sleep(200);
  const rss200k = rssMb(agent.child.pid!);
  const st = await agent.stats();
  await agent.stop();
  performed += RSS_EXECS;
  for (const p of pids) {
    captured += st.complete[String(p)] ?? 0;
    agentSeen += st.seen[String(p)] ?? 0;
  }
  lost += st.lost;
  addLost(st.lostBy);

  const result = {
    bench: 'exec',
    execs_per_sec_base: Math.round(median(base)),
    execs_per_sec_agent: Math.round(median(agentRate)),
    execs_per_sec_execsnoop: Math.round(median(snoopRate)),
    ratio_agent: r3(median(agentRatio)),
    ratio_execsnoop: r3(median(snoopRatio)),
    ratio_agent_min: r3(Math.min(...agentRatio)),
    ratio_agent_max: r3(Math.max(...agentRatio)),
    ratio_execsnoop_min: r3(Math.min(...snoopRatio)),
    ratio_execsnoop_max: r3(Math.max(...snoopRatio)),
    captured_fraction: r3(captured / performed),
    agent_seen_fraction: r3(agentSeen / performed),
    execsnoop_captured_fraction: r3(snoopSeen / snoopPerformed),
    execsnoop_argv_complete_fraction: r3(snoopComplete / snoopPerformed),
    agent_cpu_pct: r3(median(agentCpu)),
    rss_mb_10k: Math.round(rss10k * 10) / 10,
    rss_mb_200k: Math.round(rss200k * 10) / 10,
    rss_growth: r3(rss200k / rss10k - 1),
    lost,
    lost_by_reason: lostBy,
    // CPU per exec (us): the loop and its children (probe work in the exec
    // path is charged there), plus the tool's own process. Steadier than
    // exec/s when other work shares the CPUs.
    loop_cpu_us_per_exec_base: r3(median(loopCpu.base)),
    loop_cpu_us_per_exec_agent: r3(median(loopCpu.agent)),
    loop_cpu_us_per_exec_execsnoop: r3(median(loopCpu.snoop)),
    tool_cpu_us_per_exec_agent: r3(median(agentCpuUs)),
    tool_cpu_us_per_exec_execsnoop: r3(median(snoopCpuUs)),
    execs_performed: performed,
    rounds: ROUNDS,
    execs_per_round: EXECS,
  };
  console.log(`baseline ${result.execs_per_sec_base} exec/s; agent ratio ${result.ratio_agent} (${result.ratio_agent_min}-${result.ratio_agent_max}), execsnoop ratio ${result.ratio_execsnoop} (${result.ratio_execsnoop_min}-${result.ratio_execsnoop_max})`);
  console.log(`captured with complete argv: agent ${captured}/${performed} (${result.captured_fraction}), lost ${lost}; execsnoop ${snoopSeen}/${snoopPerformed} events (${result.execsnoop_captured_fraction}), complete argv ${result.execsnoop_argv_complete_fraction}`);
  console.log(`CPU per exec (us): loop ${result.loop_cpu_us_per_exec_base} base, ${result.loop_cpu_us_per_exec_agent} agent, ${result.loop_cpu_us_per_exec_execsnoop} execsnoop; tool ${result.tool_cpu_us_per_exec_agent} agent, ${result.tool_cpu_us_per_exec_execsnoop} execsnoop`);
  console.log(`agent CPU ${result.agent_cpu_pct}% of one CPU; RSS ${result.rss_mb_10k} MB after 10k execs, ${result.rss_mb_200k} MB after ${RSS_EXECS} (${(result.rss_growth * 100).toFixed(1)}%)`);
  console.log(JSON.stringify(result));
}

await main();
