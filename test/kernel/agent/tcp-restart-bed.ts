// SPDX-License-Identifier: Apache-2.0
/**
 * What the agent restart tests share: a cgroup of their own for the client
 * connections, a pin directory, a scratch directory and a local server that
 * accepts and closes. `useTcpRestartBed` registers the before/after hooks of
 * the enclosing describe; after, whatever a failed run left pinned (a link
 * keeps its program attached) goes with the directory.
 */
import { after, before } from 'node:test';
import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import { removePinned } from '../../../src/ebpf/index.js';
import type { MetricFamily } from '../../../src/lib/metric-family.js';

export interface TcpRestartBed {
  /** The cgroup's path as the agent labels it. */
  readonly rel: string;
  readonly cgDir: string;
  readonly pinDir: string;
  readonly dir: string;
  /** The server's port, once `before` ran. */
  readonly port: number;
}

export function useTcpRestartBed(name: string): TcpRestartBed {
  const rel = `/maxpro-agent-${name}-${process.pid}`;
  const cgDir = `${findCgroup2Mount()}${rel}`;
  const pinDir = `/sys/fs/bpf/maxpro-agent-${name}-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), `maxpro-${name}-`));
  let server: Server | undefined;
  let port = 0;
  before(async () => {
    mkdirSync(cgDir, { recursive: true });
    const s = createServer((c) => { c.on('error', () => undefined); c.end(); });
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    port = (s.address() as AddressInfo).port;
  });
  after(() => {
    server?.close();
    removePinned(pinDir);
    try { rmdirSync(cgDir); } catch { /* still busy */ }
  });
  return { rel, cgDir, pinDir, dir, get port() { return port; } };
}

/** Client handshakes counted for `cgroup` in the agent's families; -1 without the histogram. */
export function clientHandshakes(fams: MetricFamily[], cgroup: string): number {
  const f = fams.find((x) => x.name === 'maxpro_tcp_handshake_duration_seconds');
  if (!f || f.type !== 'histogram') return -1;
  return f.samples.filter((s) => s.labels.cgroup === cgroup && s.labels.direction === 'client').reduce((n, s) => n + s.count, 0);
}
