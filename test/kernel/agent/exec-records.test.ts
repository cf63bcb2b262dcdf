// SPDX-License-Identifier: Apache-2.0
// One exec, one record: `maxpro trace exec --json` attached to a running agent and the same command
// loading the probe itself (--local) print the same record for the same exec (both run the one
// enrichment stage), and the agent's exported OTLP log record of that exec carries the same
// attributes, the ancestry chain included. Each side's probe stamps the exec with its own
// bpf_ktime_get_boot_ns() (two programs on one tracepoint, microseconds apart), and each process
// derives wall-clock time from the boot clock plus /proc/uptime (10 ms resolution): those fields
// are compared within 20 ms. Every other field must be equal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';

const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const TIMES = ['time', 'process.creation.time', 'process.exit.time', 'maxpro.boot_ns'];
const ms = (k: string, v: unknown): number => (k === 'maxpro.boot_ns' ? Number(v) / 1e6 : Date.parse(String(v)));

interface Cli { out: string; err: string; stop(): Promise<number | null> }

function runCli(args: string[]): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAXPRO_AGENT_URL: '' } });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const cli: Cli = { out: '', err: '', stop: () => { child.kill('SIGINT'); return exited; } };
  child.stdout.on('data', (d: Buffer) => { cli.out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { cli.err += d.toString(); });
  return cli;
}

const records = (out: string): Record<string, unknown>[] => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

type AnyValue = Record<string, unknown>;
/** An OTLP/JSON AnyValue as a plain value. */
function plain(v: AnyValue): unknown {
  if ('arrayValue' in v) return ((v.arrayValue as { values?: AnyValue[] }).values ?? []).map(plain);
  if ('kvlistValue' in v) {
    return Object.fromEntries(((v.kvlistValue as { values?: { key: string; value: AnyValue }[] }).values ?? []).map((kv) => [kv.key, plain(kv.value)]));
  }
  if ('intValue' in v) return Number(v.intValue);
  return Object.values(v)[0];
}

describe('trace exec records, attached and local, and the agent\'s OTLP export', { skip: kernelSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-records-'));
  const prog = `mxrec${process.pid % 100000}`;
  const exported: Record<string, unknown>[] = [];
  let agent: Agent;
  let rx: Server;

  before(async () => {
    copyFileSync('/bin/true', join(dir, prog));
    execFileSync('chmod', ['+x', join(dir, prog)]);
    rx = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        if (req.url === '/v1/logs') {
          type Attr = { key: string; value: AnyValue };
          const msg = JSON.parse(body) as { resourceLogs?: { scopeLogs?: { logRecords?: { attributes?: Attr[] }[] }[] }[] };
          for (const rl of msg.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) {
            exported.push(Object.fromEntries((lr.attributes ?? []).map((a) => [a.key, plain(a.value)])));
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    const config = parseConfigText([
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-records-test-${process.pid}`, '  keepPinned: false',
      'probes:', '  tcp: { enabled: false }',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
      'exporters:', '  otlp:', '    enabled: true', `    endpoint: http://127.0.0.1:${(rx.address() as AddressInfo).port}`,
      '    protocol: http/json', '    flushIntervalMs: 100',
      'policy:', '  default: drop', '  rules:', `    - name: ours`, `      selector: comm in (${prog})`, '      action: keep',
    ].join('\n'), 'records.yaml').config;
    agent = await createAgent({ config });
  });

  after(async () => {
    await agent?.shutdown();
    rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the same exec gives the same record both ways, and the exported log record carries it with the ancestry', async () => {
    const attached = runCli(['trace', 'exec', '--json', '--duration', '30', '--agent', agent.url, '--comm', prog]);
    const local = runCli(['trace', 'exec', '--json', '--duration', '30', '--local', '--comm', prog]);
    assert.ok(await waitFor(() => attached.err.includes('attached to agent at'), 5000), attached.err);
    assert.ok(await waitFor(() => local.err.includes('loading probes locally'), 5000), local.err);
    // The local probe takes a moment to load: exec until both have printed one (each argv unique).
    let n = 0;
    const both = (): boolean => records(attached.out).length > 0 && records(local.out).length > 0;
    while (!both() && n < 100) {
      execFileSync(join(dir, prog), ['run', String(n++), '--password=hunter2'], { stdio: 'ignore' });
      await sleep(100);
    }
    execFileSync(join(dir, prog), ['run', String(n++), '--password=hunter2'], { stdio: 'ignore' });
    await sleep(500);
    assert.equal(await attached.stop(), 0, attached.err);
    assert.equal(await local.stop(), 0, local.err);

    const fromLocal = new Map(records(local.out).map((r) => [JSON.stringify(r['process.command_args']), r]));
    const pairs = records(attached.out).flatMap((a) => {
      const l = fromLocal.get(JSON.stringify(a['process.command_args']));
      return l ? [[a, l] as const] : [];
    });
    assert.ok(pairs.length >= 1, `no exec seen both ways:\nattached ${attached.out}\nlocal ${local.out}\n${local.err}`);
    for (const [a, l] of pairs) {
      for (const k of TIMES) {
        if (a[k] === undefined && l[k] === undefined) continue;
        assert.ok(Math.abs(ms(k, a[k]) - ms(k, l[k])) < 20, `${k}: ${String(a[k])} vs ${String(l[k])}`);
      }
      const strip = (r: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMES.includes(k)));
      assert.deepEqual(strip(a), strip(l));
      assert.deepEqual((a['process.command_args'] as string[]).slice(3), ['--password=***'], 'redacted');
      const chain = a['maxpro.ancestry'] as { pid: number; comm?: string }[];
      assert.equal(chain[0]?.pid, process.pid, 'the nearest parent is this test process');
      assert.equal(chain[0]?.comm, 'node');
    }

    // The agent's export: the same attributes (all but time), the ancestry as a list of maps.
    const [a] = pairs[0]!;
    const key = JSON.stringify(a['process.command_args']);
    assert.ok(await waitFor(() => exported.some((e) => JSON.stringify(e['process.command_args']) === key), 5000), `${exported.length} log records`);
    const log = exported.find((e) => JSON.stringify(e['process.command_args']) === key)!;
    for (const [k, v] of Object.entries(a)) {
      if (k === 'time') continue;
      assert.deepEqual(log[k], v, k);
    }
    assert.ok((log['maxpro.ancestry'] as unknown[]).length >= 1);
    assert.equal(log['maxpro.probe'], 'process');
  });
});
