// SPDX-License-Identifier: Apache-2.0
/**
 * Runs the agent's HTTP server or a collector alone in this process, for
 * tests that need it under its own file limit or memory measure:
 * `node [--expose-gc] http-server-process.js agent|collector '<json>'`.
 * Prints `{"url": ..., "pid": ...}` once listening. Over IPC it answers
 * `{op: 'memory'}` with heap and RSS after a full GC (when --expose-gc was
 * given) and `{op: 'stats'}` with the server's counters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentHttpServer } from '../../src/agent/http/agent-http-server.js';
import type { AgentHttpServer } from '../../src/agent/http/agent-http-server.js';
import { createLiveStream } from '../../src/agent/http/live-stream.js';
import { createTcpAggregatesRoute } from '../../src/probes/tcp/tcp-aggregates-route.js';
import { createSelfMetrics } from '../../src/agent/self-metrics.js';
import { createCollector } from '../../src/collector/collector.js';
import type { Collector } from '../../src/collector/collector.js';

export interface HttpServerProcessOptions {
  token: string;
  maxConnections?: number;
  maxPerClient?: number;
}

const kind = process.argv[2];
const options = JSON.parse(process.argv[3] ?? '{}') as HttpServerProcessOptions;
let agent: AgentHttpServer | undefined;
let collector: Collector | undefined;
let dataDir: string | undefined;
if (kind === 'agent') {
  const self = createSelfMetrics();
  agent = await createAgentHttpServer({
    listen: '127.0.0.1:0', collect: () => self.collect(), notReady: () => undefined, pprof: true,
    stream: createLiveStream({ maxClients: 8 }), auth: { tokens: [options.token] },
    routes: { '/tcp/aggregates': createTcpAggregatesRoute({ read: () => ({ aggregates: [], lost: 0 }), identity: () => ({ container: '', pod: '', namespace: '', cgroupPath: '' }) }) },
    limits: { ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}), ...(options.maxPerClient ? { maxPerClient: options.maxPerClient } : {}) },
  });
} else if (kind === 'collector') {
  dataDir = mkdtempSync(join(tmpdir(), 'maxpro-http-fixture-'));
  collector = await createCollector({
    port: 0, grpcPort: false, dataDir, auth: { tokens: [options.token] }, log: () => undefined,
    ...(options.maxConnections ? { connections: { max: options.maxConnections, ...(options.maxPerClient ? { perClient: options.maxPerClient } : {}) } } : {}),
  });
} else {
  throw new Error(`usage: http-server-process.js agent|collector '<json>' (got ${kind})`);
}
process.stdout.write(`${JSON.stringify({ url: agent?.url ?? collector!.url, pid: process.pid })}\n`);

process.on('message', (m: { op: string; id: number }) => {
  if (m.op === 'memory') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const mu = process.memoryUsage();
    process.send!({ id: m.id, heapUsed: mu.heapUsed, rss: mu.rss, external: mu.external, gc: gc !== undefined });
  } else if (m.op === 'stats') {
    process.send!({ id: m.id, refusals: agent?.refusals() ?? collector!.stats().rejected, connections: agent?.connections() });
  }
});
const stop = (): void => {
  // A graceful close waits for open connections; a test fixture does not wait long.
  setTimeout(() => process.exit(0), 3000).unref();
  void (async () => {
    await agent?.close();
    await collector?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  })();
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
