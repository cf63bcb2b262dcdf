// SPDX-License-Identifier: Apache-2.0
// The collector's CLI commands against a real collector: `traces get`
// (waterfall), `traces search` (table), `services`, each with --json, and
// `collector` itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { CommandIO } from '../../../src/cli/command.js';
import { tracesGetCommand } from '../../../src/cli/commands/traces-get.js';
import { tracesSearchCommand } from '../../../src/cli/commands/traces-search.js';
import { servicesCommand } from '../../../src/cli/commands/services.js';
import { collectorCommand, parseBytes } from '../../../src/cli/commands/collector.js';
import { CollectorRequestError } from '../../../src/collector/collector-errors.js';
import { ConfigError, InvalidArgumentError } from '../../../src/lib/errors.js';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mustStartCollector, mustTempDir, TOKEN } from './collector-fixture.js';

function capture(signal = new AbortController().signal): CommandIO & { text: () => string; errText: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => { o += d.toString(); });
  err.on('data', (d: Buffer) => { e += d.toString(); });
  return { out, err, signal, text: () => o, errText: () => e };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const now = BigInt(Date.now()) * 1_000_000n;
const span = (id: string, parent: string | undefined, name: string, offMs: number, durMs: number, error = false): Record<string, unknown> => ({
  traceId: TRACE, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name, kind: 2,
  startTimeUnixNano: (now + BigInt(offMs) * 1_000_000n).toString(), endTimeUnixNano: (now + BigInt(offMs + durMs) * 1_000_000n).toString(),
  ...(error ? { status: { code: 2, message: 'card declined' } } : {}),
});

test('CLI: traces get / traces search / services, as text and --json', async (t) => {
  const c = await mustStartCollector(t);
  const body = {
    resourceSpans: [
      { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'frontend' } }] }, scopeSpans: [{ spans: [span('0000000000000001', undefined, 'GET /checkout', 0, 200)] }] },
      { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payments' } }] }, scopeSpans: [{ spans: [
        span('0000000000000002', '0000000000000001', 'charge', 20, 150, true),
        span('0000000000000003', '0000000000000002', 'POST /bank', 30, 100),
      ] }] },
    ],
  };
  const res = await fetch(`${c.url}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  const saved = { url: process.env.MAXPRO_COLLECTOR_URL, token: process.env.MAXPRO_COLLECTOR_TOKEN };
  process.env.MAXPRO_COLLECTOR_URL = c.url;
  process.env.MAXPRO_COLLECTOR_TOKEN = TOKEN;
  t.after(() => {
    if (saved.url === undefined) delete process.env.MAXPRO_COLLECTOR_URL; else process.env.MAXPRO_COLLECTOR_URL = saved.url;
    if (saved.token === undefined) delete process.env.MAXPRO_COLLECTOR_TOKEN; else process.env.MAXPRO_COLLECTOR_TOKEN = saved.token;
  });

  const get = capture();
  assert.equal(await tracesGetCommand.run([TRACE, '--width', '100'], get), 0);
  const lines = get.text().split('\n');
  assert.match(lines[0]!, new RegExp(`^Trace ${TRACE}  3 spans  2 services  200\\.0ms  1 error\\(s\\)`));
  const root = lines.find((l) => l.startsWith('frontend: GET /checkout'))!;
  const charge = lines.find((l) => l.includes('└─ payments: charge [server] ✗'))!;
  const bank = lines.find((l) => l.includes('└─ payments: POST /bank'))!;
  assert.ok(root && charge && bank, get.text());
  assert.ok(lines.indexOf(root) < lines.indexOf(charge) && lines.indexOf(charge) < lines.indexOf(bank));
  assert.ok(bank.startsWith('   └─'), 'grandchild is indented one level deeper');
  assert.match(get.text(), /error: card declined/);
  // Bars: the root spans the whole axis, the child starts 10% in and is shorter.
  const bar = (l: string): string => l.split('│')[1]!;
  assert.equal(bar(root).trim().length, bar(root).length);
  assert.ok(bar(charge).indexOf('▓') > 0 && bar(charge).trim().length < bar(root).length);
  assert.match(root, /200\.0ms$/);

  const getJson = capture();
  await tracesGetCommand.run([TRACE, '--json'], getJson);
  const tree = JSON.parse(getJson.text()) as { roots: { children: { name: string }[] }[] };
  assert.equal(tree.roots[0]!.children[0]!.name, 'charge');

  const search = capture();
  await tracesSearchCommand.run(['--service', 'payments', '--since', '1h'], search);
  const rows = search.text().trim().split('\n');
  assert.match(rows[0]!, /^TRACE ID\s+SPAN ID\s+SERVICE\s+OPERATION\s+START\s+DURATION\s+STATUS$/);
  assert.equal(rows.length, 3);
  assert.match(rows[1]!, /payments\s+POST \/bank\s+\S+\s+100\.0ms\s+-$/);
  assert.match(rows[2]!, /payments\s+charge\s+\S+\s+150\.0ms\s+ERROR$/);
  const searchErr = capture();
  await tracesSearchCommand.run(['--status', 'error', '--json'], searchErr);
  assert.deepEqual((JSON.parse(searchErr.text()) as { spans: { name: string }[] }).spans.map((s) => s.name), ['charge']);

  const services = capture();
  await servicesCommand.run([], services);
  assert.match(services.text(), /^SERVICE\s+OPERATIONS\nfrontend\s+1\npayments\s+2\n$/);
  const servicesJson = capture();
  await servicesCommand.run(['--json'], servicesJson);
  assert.deepEqual(JSON.parse(servicesJson.text()), { services: [{ name: 'frontend', operations: ['GET /checkout'] }, { name: 'payments', operations: ['POST /bank', 'charge'] }] });

  await assert.rejects(tracesGetCommand.run(['not-an-id'], capture()), InvalidArgumentError);
  await assert.rejects(tracesGetCommand.run(['ffffffffffffffffffffffffffffffff'], capture()), (e: unknown) => e instanceof CollectorRequestError && e.status === 404);
  process.env.MAXPRO_COLLECTOR_TOKEN = 'wrong';
  await assert.rejects(servicesCommand.run([], capture()), (e: unknown) => e instanceof CollectorRequestError && e.status === 401);
});

test('CLI: maxpro collector with no credentials uses its 0600 token file, which services finds with no flag', async (t) => {
  const saved = { token: process.env.MAXPRO_COLLECTOR_TOKEN, state: process.env.MAXPRO_STATE_DIR, url: process.env.MAXPRO_COLLECTOR_URL };
  delete process.env.MAXPRO_COLLECTOR_TOKEN;
  delete process.env.MAXPRO_COLLECTOR_URL;
  const state = mustTempDir(t, 'maxpro-state-');
  process.env.MAXPRO_STATE_DIR = state;
  t.after(() => {
    for (const [k, v] of [['MAXPRO_COLLECTOR_TOKEN', saved.token], ['MAXPRO_STATE_DIR', saved.state], ['MAXPRO_COLLECTOR_URL', saved.url]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });
  const dir = mustTempDir(t);
  const ac1 = new AbortController();
  const io1 = capture(ac1.signal);
  const running1 = collectorCommand.run(['--port', '0', '--grpc-port', 'off', '--data-dir', dir], io1);
  for (let i = 0; i < 200 && !io1.text().includes('token:'); i++) await new Promise((r) => setTimeout(r, 20));
  const tokenFile = join(state, 'collector.token');
  assert.match(io1.text(), new RegExp(`token: ${tokenFile} `));
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const url1 = /listening on (\S+) /.exec(io1.text())?.[1];
  assert.ok(url1, io1.text());
  assert.equal((await fetch(`${url1}/api/services`)).status, 401);
  const services = capture();
  assert.equal(await servicesCommand.run([], services), 0, 'no flag, no variable: the endpoint file and the token file');
  assert.equal(services.text(), 'no services yet\n');
  ac1.abort();
  assert.equal(await running1, 0);
  // A token file others can read is refused with the fix.
  chmodSync(tokenFile, 0o644);
  await assert.rejects(collectorCommand.run(['--port', '0', '--data-dir', dir], capture()), (e: unknown) => e instanceof ConfigError && /chmod 600/.test(e.message));

  const ac = new AbortController();
  const io = capture(ac.signal);
  const running = collectorCommand.run(['--port', '0', '--data-dir', dir, '--no-auth', '--max-body', '1MiB'], io);
  for (let i = 0; i < 100 && !io.text().includes('listening'); i++) await new Promise((r) => setTimeout(r, 20));
  const url = /listening on (\S+) /.exec(io.text())?.[1];
  assert.ok(url, io.text());
  assert.match(io.errText(), /WARNING: authentication is disabled/);
  const r = await fetch(`${url}/api/services`);
  assert.equal(r.status, 200);
  const big = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(1024 * 1024 + 1, 0x20) });
  assert.equal(big.status, 413);
  ac.abort();
  assert.equal(await running, 0);
  assert.equal(parseBytes('10GiB', 'x'), 10 * 1024 ** 3);
  assert.throws(() => parseBytes('ten', 'x'), InvalidArgumentError);
});
