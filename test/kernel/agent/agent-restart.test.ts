// SPDX-License-Identifier: Apache-2.0
// Restarts: `maxpro agent` stopped by SIGTERM detaches its programs but leaves its aggregation map
// pinned (the default), the next agent carries the histogram counts on and exports the time stopped
// as a gap; with keepPinned: false an orderly stop removes every pin.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';
import { createAgent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { clientHandshakes, useTcpRestartBed } from './tcp-restart-bed.js';

const CLIENT = fileURLToPath(new URL('./connect-client.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));

async function connects(cgroupDir: string, port: number, n: number): Promise<void> {
  const child = spawn(process.execPath, [CLIENT, cgroupDir, '127.0.0.1', String(port), String(n)], { stdio: 'ignore' });
  assert.equal(await new Promise((r) => child.on('exit', r)), 0);
}

function parseCount(text: string, cgroup: string): number {
  let n = 0;
  for (const m of text.matchAll(/^maxpro_tcp_handshake_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    if (m[1]!.includes(`cgroup="${cgroup}"`) && m[1]!.includes('direction="client"')) n += Number(m[2]);
  }
  return n;
}

describe('agent restart keeps pinned histogram counts', { skip: kernelSkip() }, () => {
  const bed = useTcpRestartBed('restart');
  const { rel, cgDir, pinDir, dir } = bed;

  test('SIGTERM, then a new agent continues the counts and exports the stop as a gap; keepPinned: false unpins', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const cfgFile = join(dir, 'agent.yaml');
    writeFileSync(cfgFile, `agent:\n  pinDir: ${pinDir}\n  drainTimeoutMs: 2000\nprobes:\n  process: { enabled: false }\nhttp:\n  listen: ${listen}\n  pprof: false\n`);
    const child = spawn(process.execPath, [BIN, 'agent', '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const ready = await waitFor(() => /probe tcp: loaded/.test(err), 20_000);
    assert.ok(ready, err);
    await connects(cgDir, bed.port, 4);
    let text = '';
    const seen = async (): Promise<number> => { text = await (await fetch(`http://${listen}/metrics`)).text(); return parseCount(text, rel); };
    const until = Date.now() + 5000;
    while (await seen() !== 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal(parseCount(text, rel), 4);
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, err);
    const exitedAt = Date.now();
    assert.ok(Date.now() - t0 < 2000 + 3000, 'exits within the drain deadline');
    assert.ok(existsSync(join(pinDir, 'tcp_aggs')), 'the aggregation map stays pinned');
    assert.ok(existsSync(join(pinDir, 'tcp_prog_tcp__inet_sock_set_state')), 'the programs are pinned too');
    assert.ok(!readdirSync(pinDir).some((f) => f.startsWith('tcp_link_')), 'an orderly stop detaches: no link stays pinned');
    // Connections while no agent runs are not counted; the time stopped is exported as a gap.
    await connects(cgDir, bed.port, 2);
    await new Promise((r) => setTimeout(r, 300));
    const stoppedMs = Date.now() - exitedAt;

    // A new agent: the counts are there before any new traffic, and keep counting.
    const config = parseConfigText(`agent:\n  pinDir: ${pinDir}\n  keepPinned: false\nprobes:\n  process: { enabled: false }\nhttp:\n  listen: 127.0.0.1:0\n  pprof: false\n`, 'restart.yaml').config;
    const logs: string[] = [];
    const agent = await createAgent({ config, log: (l) => logs.push(l) });
    try {
      assert.equal(clientHandshakes(agent.collect(), rel), 4, logs.join('\n'));
      const gaps = agent.collect().filter((f) => f.name === 'maxpro_tcp_count_gaps' || f.name === 'maxpro_tcp_count_gap_seconds').map((f) => (f.type === 'histogram' ? NaN : f.samples[0]!.value));
      assert.equal(gaps[0], 1, 'one gap');
      assert.ok(gaps[1]! * 1000 >= stoppedMs - 50 && gaps[1]! < 60, `gap ${gaps[1]} s covers the ${stoppedMs} ms stopped`);
      await connects(cgDir, bed.port, 3);
      assert.ok(await waitFor(() => clientHandshakes(agent.collect(), rel) === 7, 5000), `count ${clientHandshakes(agent.collect(), rel)}`);
    } finally {
      await agent.shutdown();
    }
    // keepPinned: false removes the agent's own pins; the directory it did not create stays.
    assert.deepEqual(readdirSync(pinDir), [], 'with keepPinned: false the pins are removed');
  });
});
