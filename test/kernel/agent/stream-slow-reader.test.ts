// SPDX-License-Identifier: Apache-2.0
// A /stream subscriber that reads slowly under a real TCP load: it is told of its drops within a
// second (out of band, /stream/status, while the kernel's socket buffers still hold MiBs of older
// events ahead of any in-band line), and once it catches up its in-band status lines report them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import type { LiveStreamStatus, LiveStreamStatusReply } from '../../../src/agent/http/live-stream.js';
import { localCredential } from '../../../src/lib/http/local-endpoints.js';

// The agent's bearer token (in the test run's state directory), which /stream and its status need.
const AUTH = (): Record<string, string> => ({ authorization: `Bearer ${localCredential('agent').token}` });
const LOOP = fileURLToPath(new URL('./connect-loop.js', import.meta.url));

function slowClientDrops(agent: Agent): number {
  const f = agent.collect().find((x) => x.name === 'maxpro_export_dropped_items');
  if (!f || f.type === 'histogram') return 0;
  return f.samples.filter((s) => s.labels.exporter === 'live_stream' && s.labels.reason === 'slow_client').reduce((n, s) => n + s.value, 0);
}

describe('a slow /stream reader under a real TCP load', { skip: kernelSkip() }, () => {
  const cgDir = `${findCgroup2Mount()}/maxpro-slow-reader-${process.pid}`;
  const pinDir = `/sys/fs/bpf/maxpro-slow-reader-${process.pid}`;
  let server: Server;
  let agent: Agent;

  before(async () => {
    mkdirSync(cgDir, { recursive: true });
    server = createServer((s) => { s.on('error', () => undefined); s.end(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const config = parseConfigText([
      'agent:', `  pinDir: ${pinDir}`, '  keepPinned: false',
      'probes:', '  process: { enabled: false }',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false', '  stream: { clientBufferBytes: 65536 }',
    ].join('\n'), 'slow-reader.yaml').config;
    agent = await createAgent({ config, log: () => undefined });
  });
  after(async () => {
    await agent?.shutdown();
    server?.close();
    try { rmdirSync(cgDir); } catch { /* still busy */ }
  });

  test('is told of its drops within a second, out of band, then in band once it catches up', async (t) => {
    const { port } = new URL(agent.url);
    const sock: Socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET /stream?probe=tcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${localCredential('agent').token}\r\n\r\n`);
    sock.pause();
    let text = '';
    // Reads 2 KiB every 100 ms: a reader far slower than the stream.
    const reader = setInterval(() => {
      const d = sock.read(2048) as Buffer | null;
      if (d) text += d.toString('latin1');
    }, 100);
    const loads = [0, 1].map(() => spawn(process.execPath, [LOOP, cgDir, '127.0.0.1', String((server.address() as AddressInfo).port)], { stdio: 'ignore' }));
    try {
      assert.ok(await waitFor(() => /x-maxpro-stream-id: ([0-9a-f]+)/i.test(text), 5000), `headers: ${text.slice(0, 300)}`);
      const id = /x-maxpro-stream-id: ([0-9a-f]+)/i.exec(text)![1]!;
      let dropAt = 0, toldAt = 0;
      let told: LiveStreamStatusReply | undefined;
      // The kernel's socket buffers (MiBs) fill first; on a busy machine that takes a while.
      const until = Date.now() + 60_000;
      while ((!dropAt || !toldAt) && Date.now() < until) {
        if (!dropAt && slowClientDrops(agent) > 0) dropAt = Date.now();
        if (!toldAt) {
          const res = await fetch(`${agent.url}/stream/status?id=${id}`, { headers: AUTH() });
          assert.equal(res.status, 200);
          const st = await res.json() as LiveStreamStatusReply;
          if (st.dropped > 0) {
            toldAt = Date.now();
            told = st;
          }
        }
        await sleep(50);
      }
      assert.ok(dropAt > 0, `the reader lost events: ${JSON.stringify(await (await fetch(`${agent.url}/stream/status?id=${id}`, { headers: AUTH() })).json())}`);
      assert.ok(toldAt > 0, 'the reader was told');
      t.diagnostic(`told ${toldAt - dropAt} ms after the first drop (${told!.dropped} dropped, ${told!.sent} sent)`);
      assert.ok(toldAt - dropAt < 1000, `told ${toldAt - dropAt} ms after its first drop`);
      assert.equal(told!.id, id);
      assert.ok(told!.sent > 0);
      // The in-band lines lag by what the socket buffers hold; after the load stops and the reader
      // catches up, its last status line counts every drop.
      for (const l of loads) l.kill('SIGTERM');
      await Promise.all(loads.map((l) => new Promise((r) => l.on('exit', r))));
      clearInterval(reader);
      sock.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      sock.resume();
      const final = async (): Promise<LiveStreamStatusReply> => (await fetch(`${agent.url}/stream/status?id=${id}`, { headers: AUTH() })).json() as Promise<LiveStreamStatusReply>;
      const lastInBand = (): LiveStreamStatus | undefined => {
        const m = [...text.matchAll(/\{"stream":(\{[^\n]*\})\}\n/g)].at(-1);
        return m ? JSON.parse(m[1]!) as LiveStreamStatus : undefined;
      };
      let want = await final();
      const end = Date.now() + 15_000;
      while (Date.now() < end && lastInBand()?.dropped !== want.dropped) {
        await sleep(200);
        want = await final();
      }
      assert.ok(want.dropped > 0);
      assert.equal(lastInBand()?.dropped, want.dropped, 'the in-band status reports every drop');
      assert.equal(want.queued, 0);
    } finally {
      clearInterval(reader);
      for (const l of loads) l.kill('SIGKILL');
      sock.destroy();
    }
  });
});
