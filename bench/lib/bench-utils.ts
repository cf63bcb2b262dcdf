// SPDX-License-Identifier: Apache-2.0
/** Shared benchmark plumbing: compile C helpers, read /proc figures, summarise. */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../../src/ebpf/index.js';

/** Compiles bench/<dir>/<name>.c into bench/.output/<name> when stale. */
export function compileC(dir: string, name: string, libs: string[] = []): string {
  const root = repoRoot();
  const src = resolve(root, 'bench', dir, `${name}.c`);
  const outDir = resolve(root, 'bench/.output');
  mkdirSync(outDir, { recursive: true });
  const out = resolve(outDir, name);
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, src, ...libs], { stdio: 'inherit' });
  }
  return out;
}

/** user+sys CPU of a process in ns, from /proc/<pid>/stat. */
export function procCpuNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e9) / 100; // USER_HZ is 100 on Linux
}

/** Resident set size of a process in MiB. */
export function procRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The value of `--name VALUE` in this process's arguments, else `def`. */
export function benchFlag(name: string, def: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A child process with a line reader: `next()` resolves to its next stdout line. */
export interface LineProcess {
  proc: ChildProcessWithoutNullStreams;
  next(): Promise<string>;
}

export function spawnLines(cmd: string, args: string[]): LineProcess {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let ended = false;
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += String(d); });
  createInterface({ input: proc.stdout }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  }).on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w('');
  });
  return {
    proc,
    next: () => new Promise<string>((res, rej) => {
      const l = lines.shift();
      if (l !== undefined) return res(l);
      if (ended) return rej(new Error(`${cmd} exited: ${stderr.trim()}`));
      waiters.push((x) => (x === '' && ended ? rej(new Error(`${cmd} exited: ${stderr.trim()}`)) : res(x)));
    }),
  };
}

/** Prints the closing JSON line of a benchmark. */
export function printFigures(figures: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
