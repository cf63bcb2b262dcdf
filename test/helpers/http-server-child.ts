// SPDX-License-Identifier: Apache-2.0
/** Starts http-server-process.js as a child and talks to it over IPC. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HttpServerProcessOptions } from './http-server-process.js';

const SCRIPT = fileURLToPath(new URL('./http-server-process.js', import.meta.url));

export interface HttpServerChild {
  url: string;
  child: ChildProcess;
  /** Heap and RSS after a full GC in the child. */
  memory(): Promise<{ heapUsed: number; rss: number; external: number; gc: boolean }>;
  stats(): Promise<{ refusals: Record<string, number>; connections?: number }>;
  /** True while the process runs. */
  alive(): boolean;
  stop(): Promise<void>;
}

/** `prefix` runs before node, e.g. `['prlimit', '--nofile=1024:1024', '--']`. */
export async function startHttpServerChild(kind: 'agent' | 'collector', options: HttpServerProcessOptions, prefix: string[] = []): Promise<HttpServerChild> {
  const argv = [process.execPath, '--expose-gc', '--enable-source-maps', SCRIPT, kind, JSON.stringify(options)];
  const [cmd, ...args] = [...prefix, ...argv];
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`${kind} server process exited with ${code} before listening`)));
  });
  let next = 0;
  const ask = <T>(op: string): Promise<T> => new Promise((resolve, reject) => {
    const id = ++next;
    const onMessage = (m: { id: number }): void => {
      if (m.id !== id) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.send({ op, id }, (err) => { if (err) reject(err); });
  });
  return {
    url, child,
    memory: () => ask('memory'),
    stats: () => ask('stats'),
    alive: () => !exited,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
