// SPDX-License-Identifier: Apache-2.0
/**
 * Where the TCP probe's per-connection cost goes (`npm run bench -- tcp-cost`).
 *
 * Builds variants of bpf/probes/tcp/tcp.bpf.c, each with one part of the
 * work taken out (their results are wrong: they exist only to weigh that
 * part), and measures the BPF run time per connection of each under the
 * `tcp` bench's load generator (2 loopback clients, RST close), with BPF
 * stats on. Every round loads every variant afresh (a new JIT image and new
 * maps), in alternating order, so placement and drift spread over all of
 * them; figures are medians over rounds. Stats add two clock reads per
 * program run to every variant alike.
 *
 * Baseline: the probe as built from the same source in the same run.
 * Flags: --rounds N (8), --seconds S (1, per sample).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enableBpfStats, repoRoot } from '../../src/ebpf/index.js';
import { createTcpProbe } from '../../src/probes/tcp/tcp-probe.js';
import { benchFlag, compileC, median, printFigures, procCpuNs, procRssMb } from '../lib/bench-utils.js';

const rounds = Number(benchFlag('rounds', '8'));
const seconds = Number(benchFlag('seconds', '1'));

/** A source edit: `anchor` must occur in the probe's source exactly once. */
interface Edit { anchor: string; replace: string }
interface Variant { name: string; what: string; edits: Edit[] }

const VARIANTS: Variant[] = [
  { name: 'probe', what: 'the probe', edits: [] },
  {
    name: 'no_clock', what: 'no clock read at close (a stale stamp)',
    edits: [{
      anchor: '\tif (!now)\n\t\tnow = bpf_ktime_get_ns();\n\tlifetime =',
      replace: '\tnow = mstamp_ns(tp);\n\tlifetime =',
    }],
  },
  {
    name: 'no_hash', what: 'one per-CPU array entry instead of the aggregate hash lookups',
    edits: [{
      anchor: '\tstruct tcp_agg *a = bpf_map_lookup_elem(&tcp_aggs, &key);\n\t__u32 zero = 0;\n',
      replace: '\t__u32 zero = 0;\n\treturn bpf_map_lookup_elem(&tcp_agg_zero, &zero);\n\tstruct tcp_agg *a = bpf_map_lookup_elem(&tcp_aggs, &key);\n',
    }],
  },
  {
    name: 'no_table', what: 'one per-CPU scratch slot instead of the connection table',
    edits: [
      {
        anchor: '/* Open addressing:',
        replace: 'struct {\n\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n\t__uint(max_entries, 1);\n\t__type(key, __u32);\n'
          + '\t__type(value, struct tcp_conn);\n} tcp_scratch SEC(".maps");\n\n/* Open addressing:',
      },
      {
        anchor: 'static __always_inline struct tcp_conn *conn_find(__u64 sk)\n{',
        replace: 'static __always_inline struct tcp_conn *conn_find(__u64 sk)\n{\n\t{ __u32 z = 0; return bpf_map_lookup_elem(&tcp_scratch, &z); }',
      },
      {
        anchor: 'static __always_inline struct tcp_conn *conn_claim(__u64 sk)\n{',
        replace: 'static __always_inline struct tcp_conn *conn_claim(__u64 sk)\n{\n\t{ __u32 z = 0; return bpf_map_lookup_elem(&tcp_scratch, &z); }',
      },
    ],
  },
  {
    name: 'no_histograms', what: 'no histogram records',
    edits: [{ anchor: '#include "tcp.h"\n', replace: '#include "tcp.h"\n#define maxpro_hist_record(h, v) do { (void)(h); } while (0)\n' }],
  },
  {
    name: 'no_cgroup', what: 'no cgroup read',
    edits: [{ anchor: '\tstruct cgroup *cg = sk->sk_cgrp_data.cgroup;\n', replace: '\treturn 1;\n\tstruct cgroup *cg = sk->sk_cgrp_data.cgroup;\n' }],
  },
  {
    name: 'empty', what: 'empty state-change program (the hooks, tcp_send_reset, stats)',
    edits: [{
      anchor: 'const int oldstate, const int newstate)\n{\n',
      replace: 'const int oldstate, const int newstate)\n{\n\treturn 0;\n',
    }],
  },
];

function build(root: string, out: string, v: Variant, source: string): string {
  let src = source;
  for (const e of v.edits) {
    const n = src.split(e.anchor).length - 1;
    if (n !== 1) throw new Error(`tcp-cost variant ${v.name}: anchor found ${n} times in bpf/probes/tcp/tcp.bpf.c (expected 1): ${JSON.stringify(e.anchor.slice(0, 60))}`);
    src = src.replace(e.anchor, e.replace);
  }
  const c = join(out, `tcp-${v.name}.bpf.c`);
  const obj = join(out, `tcp-${v.name}.bpf.o`);
  writeFileSync(c, src);
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  const bpf = join(root, 'bpf');
  const inc = execFileSync('pkg-config', ['--cflags-only-I', 'libbpf'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', `-D__TARGET_ARCH_${arch}`, '-Wall', '-Wno-unused-function',
    '-I', join(bpf, `vmlinux/${arch}`), '-I', join(bpf, 'include'), '-I', join(bpf, 'include/maxpro'), ...inc,
    '-I', join(bpf, 'probes/tcp'), '-c', c, '-o', obj], { stdio: 'inherit' });
  return obj;
}

interface Sample { bpfNs: number; cpuNsPerConn: number }

async function main(): Promise<void> {
  const root = repoRoot();
  const out = join(root, 'bench/.output/tcp-cost');
  mkdirSync(out, { recursive: true });
  const load = compileC('tcp', 'conn-load', ['-pthread']);
  const source = readFileSync(join(root, 'bpf/probes/tcp/tcp.bpf.c'), 'utf8');
  const objects = new Map(VARIANTS.map((v) => [v.name, build(root, out, v, source)]));
  // Signed like every object the agent loads (docs/supply-chain.md).
  execFileSync(process.execPath, [join(root, 'scripts/sign-bpf.mjs'), '--dir', out, '--quiet'], { stdio: 'inherit' });
  const samples = new Map<string, Sample[]>(VARIANTS.map((v) => [v.name, []]));
  const cpu0 = procCpuNs(process.pid);
  let maxRss = procRssMb(process.pid);
  const stats = enableBpfStats();
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...VARIANTS].reverse() : VARIANTS;
      for (const v of order) {
        const probe = createTcpProbe({ objectPath: objects.get(v.name)! });
        try {
          const progs = probe.object.links.map((l) => probe.object.program(l.program));
          const before = progs.map((p) => p.stats().runTimeNs);
          const o = execFileSync(load, ['2', String(seconds)], { encoding: 'utf8' });
          const ns = progs.reduce((s, p, i) => s + Number(p.stats().runTimeNs - before[i]!), 0);
          const m = /connections=(\d+) seconds=[\d.]+ errors=\d+ cpu=([\d.]+)/.exec(o);
          if (!m) throw new Error(`conn-load printed: ${o}`);
          const conns = Number(m[1]);
          samples.get(v.name)!.push({ bpfNs: ns / conns, cpuNsPerConn: Number(m[2]) * 1e9 / conns });
        } finally {
          await probe.close();
        }
        maxRss = Math.max(maxRss, procRssMb(process.pid));
      }
    }
  } finally {
    stats.close();
  }
  const fig = new Map(VARIANTS.map((v) => {
    const s = samples.get(v.name)!;
    return [v.name, { bpf: median(s.map((x) => x.bpfNs)), cpu: median(s.map((x) => x.cpuNsPerConn)) }];
  }));
  const base = fig.get('probe')!;
  console.log(`tcp-cost: ${rounds} rounds of ${seconds}s per variant, BPF stats on; baseline: the probe, same run`);
  console.log(`${'variant'.padEnd(15)}${'BPF ns/conn'.padStart(12)}${'vs probe'.padStart(10)}${'ratio'.padStart(8)}${'load CPU ns/conn'.padStart(18)}  what`);
  for (const v of VARIANTS) {
    const f = fig.get(v.name)!;
    console.log(`${v.name.padEnd(15)}${f.bpf.toFixed(0).padStart(12)}${(f.bpf - base.bpf).toFixed(0).padStart(10)}${(f.bpf / base.bpf).toFixed(3).padStart(8)}${f.cpu.toFixed(0).padStart(18)}  ${v.what}`);
  }
  const benchCpuS = (procCpuNs(process.pid) - cpu0) / 1e9;
  console.log(`bench process CPU ${benchCpuS.toFixed(1)} s, max RSS ${maxRss.toFixed(0)} MB`);
  const figures: Record<string, unknown> = { bench: 'tcp-cost', rounds, seconds };
  for (const v of VARIANTS) {
    const f = fig.get(v.name)!;
    figures[`bpf_ns_per_conn_${v.name}`] = Math.round(f.bpf);
    figures[`ratio_${v.name}`] = Number((f.bpf / base.bpf).toFixed(3));
    figures[`load_cpu_ns_per_conn_${v.name}`] = Math.round(f.cpu);
  }
  figures['bench_cpu_s'] = Number(benchCpuS.toFixed(1));
  figures['rss_mb'] = Math.round(maxRss);
  printFigures(figures);
}

await main();
