// SPDX-License-Identifier: Apache-2.0
// `kill -9` of the agent during a TCP load: the pinned links keep the programs counting while it is
// down, and the next agent takes the pins over, so every connection made meanwhile is counted, the
// handover is exported as a gap, and nothing is left attached twice.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';
import { createAgent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { clientHandshakes, useTcpRestartBed } from './tcp-restart-bed.js';
import type { MetricFamily } from '../../../src/lib/metric-family.js';

const LOOP = fileURLToPath(new URL('./connect-loop.js', import.meta.url));
const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));

function scalar(fams: MetricFamily[], name: string): number | undefined {
  const f = fams.find((x) => x.name === name);
  return f && f.type !== 'histogram' ? f.samples[0]?.value : undefined;
}

/** The program of the pinned state-change link. */
function linkedProgram(pinDir: string): number {
  const l = JSON.parse(execFileSync('bpftool', ['link', 'show', 'pinned', join(pinDir, 'tcp_link_tcp__inet_sock_set_state'), '--json'], { encoding: 'utf8' })) as { prog_id: number };
  return l.prog_id;
}

/** Programs attached through any link now. */
function attachedPrograms(): Set<number> {
  return new Set((JSON.parse(execFileSync('bpftool', ['link', 'show', '--json'], { encoding: 'utf8' })) as { prog_id: number }[]).map((l) => l.prog_id));
}

/** Lines the child printed, by first word. */
function lines(child: ChildProcess): { wait(word: string, timeoutMs?: number): Promise<number> } {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  return {
    async wait(word, timeoutMs = 10_000) {
      const re = new RegExp(`^${word}(?: (\\d+))?$`, 'm');
      assert.ok(await waitFor(() => re.test(out), timeoutMs), `no "${word}" line from the load: ${out}`);
      const m = re.exec(out)!;
      out = out.slice(m.index + m[0].length);
      return Number(m[1] ?? 0);
    },
  };
}

describe('kill -9 during a TCP load, then a restart', { skip: kernelSkip() }, () => {
  const bed = useTcpRestartBed('kill');
  const { rel, cgDir, pinDir, dir } = bed;

  test('the connections made while the agent was down are counted after the restart', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const cfgFile = join(dir, 'agent.yaml');
    writeFileSync(cfgFile, `agent:\n  pinDir: ${pinDir}\nprobes:\n  process: { enabled: false }\nhttp:\n  listen: ${listen}\n  pprof: false\n`);
    const agentProc = spawn(process.execPath, [BIN, 'agent', '--config', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    agentProc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    assert.ok(await waitFor(() => /probe tcp: loaded/.test(err), 20_000), err);

    const load = spawn(process.execPath, [LOOP, cgDir, '127.0.0.1', String(bed.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out = lines(load);
    await out.wait('ready');
    // Let the running agent count some of the load, then kill it without any chance to clean up.
    const seen = async (): Promise<number> => {
      const text = await (await fetch(`http://${listen}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^maxpro_tcp_handshake_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
        if (m[1]!.includes(`cgroup="${rel}"`) && m[1]!.includes('direction="client"')) n += Number(m[2]);
      }
      return n;
    };
    const until = Date.now() + 10_000;
    while (await seen() < 200 && Date.now() < until) await sleep(100);
    agentProc.kill('SIGKILL');
    await new Promise((r) => agentProc.on('exit', r));
    load.kill('SIGUSR1');
    const atKill = await out.wait('count');
    assert.ok(readdirSync(pinDir).some((f) => f.startsWith('tcp_link_')), `links pinned: ${readdirSync(pinDir).join(' ')}`);
    const oldProg = linkedProgram(pinDir);
    assert.ok(attachedPrograms().has(oldProg), 'the killed agent\'s program stays attached');
    // The load goes on for a while with no agent, then stops before the next one starts.
    await sleep(1500);
    load.kill('SIGTERM');
    const total = await out.wait('total');
    const whileDown = total - atKill;
    assert.ok(whileDown > 100, `only ${whileDown} connections while the agent was down`);

    const config = parseConfigText(`agent:\n  pinDir: ${pinDir}\n  keepPinned: false\nprobes:\n  process: { enabled: false }\nhttp:\n  listen: 127.0.0.1:0\n  pprof: false\n`, 'kill.yaml').config;
    const logs: string[] = [];
    const agent = await createAgent({ config, log: (l) => logs.push(l) });
    try {
      const fams = agent.collect();
      assert.equal(clientHandshakes(fams, rel), total, `${whileDown} of ${total} made while down; ${logs.join('\n')}`);
      assert.equal(scalar(fams, 'maxpro_tcp_count_gaps'), 1, 'the handover is one gap');
      const gap = scalar(fams, 'maxpro_tcp_count_gap_seconds')!;
      assert.ok(gap > 0 && gap < 0.5, `handover gap ${gap} s`);
      const start = scalar(fams, 'maxpro_tcp_counts_start_time_seconds')!;
      assert.ok(start * 1000 < Date.now() - 1500 && start * 1000 > Date.now() - 60_000, `counts start at the first agent's load: ${start}`);
      // The old links are gone (one program per hook), the new ones pinned in their place.
      const links = readdirSync(pinDir).filter((f) => f.startsWith('tcp_link_'));
      assert.ok(links.length >= 5, links.join(' '));
      const newProg = linkedProgram(pinDir);
      assert.notEqual(newProg, oldProg);
      assert.ok(!attachedPrograms().has(oldProg), 'the previous run\'s program is detached');
      assert.ok(attachedPrograms().has(newProg));
      await agent.shutdown();
      assert.ok(!attachedPrograms().has(newProg), 'an orderly stop detaches');
    } finally {
      await agent.shutdown();
    }
    assert.deepEqual(readdirSync(pinDir), [], 'keepPinned: false removes every pin, the links included');
  });
});
