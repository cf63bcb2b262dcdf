// SPDX-License-Identifier: Apache-2.0
/**
 * Fixtures of the TCP kernel tests: a cgroup v2 of their own (socket
 * aggregates are keyed by cgroup, so its counts hold only the test's
 * traffic), traffic children placed in it, uniquely named nftables tables,
 * and a network namespace joined to the host by a veth pair. Every fixture
 * removes what it made.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';

const TRAFFIC = fileURLToPath(new URL('./tcp-traffic.js', import.meta.url));
let seq = 0;

export interface TestCgroup {
  readonly path: string;
  /** The cgroup v2 id (its directory's inode), as the probe keys aggregates. */
  readonly id: bigint;
  /** Starts tcp-traffic.js with `args` inside the cgroup (and `netns` when given). */
  traffic(args: string[], netns?: string): TrafficChild;
  /** Starts any program inside the cgroup (and `netns` when given). */
  exec(argv: string[], netns?: string): TrafficChild;
  remove(): void;
}

export interface TrafficChild {
  readonly child: ChildProcess;
  /** Resolves when the child printed `line`. */
  waitFor(line: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code; rejects on timeout. */
  exited(timeoutMs?: number): Promise<number>;
  output(): string;
}

/** A fresh cgroup under the v2 hierarchy. */
export function createTestCgroup(): TestCgroup {
  const root = findCgroup2Mount();
  if (!root) throw new Error('no cgroup2 mount');
  const path = join(root, `maxpro-tcp-test-${process.pid}-${++seq}`);
  mkdirSync(path);
  const id = statSync(path, { bigint: true }).ino;
  const children: ChildProcess[] = [];
  return {
    path,
    id,
    traffic(args, netns) {
      return this.exec([process.execPath, TRAFFIC, ...args], netns);
    },
    exec(args, netns) {
      // The shell joins the cgroup, then execs the program: the same pid, so every socket is created inside.
      // `ip netns exec` remounts /sys for the namespace, so the cgroup is joined first.
      const argv = ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', path, ...(netns ? ['ip', 'netns', 'exec', netns] : []), ...args];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      return {
        child,
        output: () => out,
        waitFor(line, timeoutMs = 10_000) {
          return new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`timed out waiting for "${line}": ${out}`)), timeoutMs);
            const check = (): void => {
              if (out.split('\n').includes(line)) {
                clearTimeout(t);
                resolve();
              }
            };
            child.stdout.on('data', check);
            child.once('exit', () => { clearTimeout(t); if (!out.split('\n').includes(line)) reject(new Error(`exited before "${line}": ${out}`)); });
            check();
          });
        },
        exited(timeoutMs = 20_000) {
          return new Promise((resolve, reject) => {
            if (child.exitCode !== null) return resolve(child.exitCode);
            const t = setTimeout(() => reject(new Error(`traffic ${args.join(' ')} did not exit: ${out}`)), timeoutMs);
            child.once('exit', (code) => { clearTimeout(t); resolve(code ?? -1); });
          });
        },
      };
    },
    remove() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      // The kernel refuses rmdir while a (dying) process is still a member: retry briefly.
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(path);
          return;
        } catch {
          const procs = readFileSync(join(path, 'cgroup.procs'), 'utf8').trim();
          if (procs) for (const p of procs.split('\n')) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
          execFileSync('sleep', ['0.1']);
        }
      }
    },
  };
}

/** An nftables table of the test's own, in the `inet` family. */
export interface NftTable {
  readonly name: string;
  remove(): void;
}

/**
 * Creates a uniquely named table with one filter chain on `hook` holding
 * `rules` (nft syntax, one per line), in `netns` when given. Drop on `input`
 * to make a sender retransmit: a drop on `output` is reported back to the
 * sending socket, which then never counts the segment as sent.
 */
export function createNftTable(rules: string[], hook: 'input' | 'output' = 'output', netns?: string): NftTable {
  const name = `maxpro_test_${process.pid}_${++seq}`;
  const script = [`table inet ${name} {`, '  chain filter {', `    type filter hook ${hook} priority 0; policy accept;`,
    ...rules.map((r) => `    ${r}`), '  }', '}', ''].join('\n');
  const nft = (args: string[], input?: string): void => {
    const argv = netns ? ['ip', 'netns', 'exec', netns, 'nft', ...args] : ['nft', ...args];
    execFileSync(argv[0]!, argv.slice(1), { input, stdio: ['pipe', 'ignore', 'pipe'] });
  };
  nft(['-f', '-'], script);
  let removed = false;
  return {
    name,
    remove() {
      if (removed) return;
      removed = true;
      nft(['delete', 'table', 'inet', name]);
    },
  };
}

/** A network namespace joined to the host by a veth pair, addresses 10.200.<n>.1 (host) and .2 (namespace). */
export interface NetnsPair {
  readonly netns: string;
  readonly hostAddress: string;
  readonly nsAddress: string;
  remove(): void;
}

export function createNetnsPair(): NetnsPair {
  const n = (process.pid % 200) + 1;
  const netns = `maxpro-tcp-${process.pid}`;
  const hostIf = `mxt${process.pid % 100000}a`;
  const nsIf = `mxt${process.pid % 100000}b`;
  const hostAddress = `10.200.${n}.1`;
  const nsAddress = `10.200.${n}.2`;
  const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }); };
  ip('netns', 'add', netns);
  try {
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', netns);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    ip('netns', 'exec', netns, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    try { ip('link', 'del', hostIf); } catch { /* not created */ }
    ip('netns', 'del', netns);
    throw err;
  }
  return {
    netns, hostAddress, nsAddress,
    remove() {
      try { ip('link', 'del', hostIf); } catch { /* gone with the namespace */ }
      try { ip('netns', 'del', netns); } catch { /* already removed */ }
    },
  };
}

/** A TCP port free on 127.0.0.1 now (bound, then released). */
export function freePort(): number {
  const out = execFileSync(process.execPath, ['-e',
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: 'utf8' });
  return Number(out.trim());
}

/** Writes a C file to a temporary path and compiles it; returns the binary. */
export function compileC(name: string, source: string): string {
  const dir = join('/tmp', `maxpro-tcp-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const src = join(dir, `${name}.c`);
  const bin = join(dir, name);
  writeFileSync(src, source);
  execFileSync('gcc', ['-O2', '-o', bin, src]);
  return bin;
}
