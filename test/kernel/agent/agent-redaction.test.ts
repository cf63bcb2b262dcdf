// SPDX-License-Identifier: Apache-2.0
// Redaction through the real agent and the real process probe. Every row of the shared tables is
// exec'd for real (a copy of /bin/true run with the row's argv, argv[0] included, so the program
// names the rules look at are the table's): each planted secret arrives as the expected redacted
// argv and is absent from the live stream, the OTLP export (raw request bodies), the agent's log
// lines and /metrics; each ordinary command arrives unchanged on the stream and in the export.
// Then a reload adds a pattern: the next exec's argv is masked on the stream and in the export.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { ORDINARY, PLANTED } from '../../helpers/redaction-scenarios.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { attachLiveStream } from '../../../src/agent/http/live-stream-client.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';

type AnyValue = Record<string, unknown>;
type Attr = { key: string; value: AnyValue };

/** The string list of an OTLP/JSON array value. */
const strings = (v: AnyValue | undefined): string[] | undefined =>
  v && 'arrayValue' in v ? ((v.arrayValue as { values?: AnyValue[] }).values ?? []).map((x) => String(x.stringValue)) : undefined;

describe('redaction through the agent: stream, OTLP, logs, metrics', { skip: kernelSkip(), timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-agent-redact-'));
  const comm = `mxred${process.pid % 100000}`;
  const bin = join(dir, comm);
  const events: LiveStreamEvent[] = [];
  const bodies: string[] = [];
  const exported: string[][] = [];
  const logs: string[] = [];
  const abort = new AbortController();
  let streaming: Promise<number>;
  let agent: Agent;
  let rx: Server;

  const configText = (extraPatterns: string[]): string => [
    'agent:', `  pinDir: /sys/fs/bpf/maxpro-agent-redact-${process.pid}`, '  keepPinned: false',
    'probes:', '  tcp: { enabled: false }',
    'http:', '  listen: 127.0.0.1:0', '  pprof: false',
    'exporters:', '  otlp:', '    enabled: true', `    endpoint: http://127.0.0.1:${(rx.address() as AddressInfo).port}`,
    '    protocol: http/json', '    flushIntervalMs: 100',
    'redaction:', `  extraPatterns: ${JSON.stringify(extraPatterns)}`,
    'policy:', '  default: drop', '  rules:', '    - name: ours', `      selector: comm in (${comm})`, '      action: keep',
  ].join('\n');

  /** Execs the copy of /bin/true with exactly `argv`. */
  const run = (argv: readonly string[]): void => {
    const r = spawnSync(bin, argv.slice(1), { argv0: argv[0], stdio: 'ignore' });
    assert.equal(r.status, 0, String(r.error));
  };
  const streamed = (): string[][] => events.filter((e) => e.name === 'process.exec' && e.args).map((e) => e.args!);
  const has = (list: string[][], argv: readonly string[]): boolean => list.some((a) => JSON.stringify(a) === JSON.stringify(argv));

  before(async () => {
    copyFileSync('/bin/true', bin);
    chmodSync(bin, 0o755);
    rx = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        bodies.push(body);
        if (req.url === '/v1/logs') {
          const msg = JSON.parse(body) as { resourceLogs?: { scopeLogs?: { logRecords?: { attributes?: Attr[] }[] }[] }[] };
          for (const rl of msg.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) {
            const args = strings(lr.attributes?.find((a) => a.key === 'process.command_args')?.value);
            if (args) exported.push(args);
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    agent = await createAgent({ config: parseConfigText(configText([]), 'redact.yaml').config, log: (l) => logs.push(l) });
    streaming = attachLiveStream({
      url: agent.url, filter: { probe: 'process', kept: true }, onEvent: (e) => events.push(e), signal: abort.signal, connectTimeoutMs: 10_000,
    });
    // Subscribed once an exec shows on the stream.
    for (let n = 0; n < 100 && !streamed().some((a) => a[1] === 'warm-up'); n++) {
      run([comm, 'warm-up', String(n)]);
      await sleep(100);
    }
    assert.ok(streamed().some((a) => a[1] === 'warm-up'), 'the stream is attached');
  });

  after(async () => {
    abort.abort();
    await streaming;
    await agent?.shutdown();
    rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('planted secrets: 0 leaks; ordinary commands: 0 changes', async () => {
    for (const c of PLANTED) run(c.args);
    for (const args of ORDINARY) run(args);
    const last = ORDINARY[ORDINARY.length - 1]!;
    assert.ok(await waitFor(() => has(streamed(), last) && has(exported, last), 10_000), `stream ${streamed().length}, export ${exported.length}`);
    await sleep(300);

    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    const outputs: Record<string, string> = {
      'live stream': events.map((e) => JSON.stringify(e)).join('\n'),
      'OTLP export': bodies.join('\n'),
      'agent log lines': logs.join('\n'),
      '/metrics': metrics,
    };
    const leaks: string[] = [];
    const missing: string[] = [];
    for (const c of PLANTED) {
      // Digits-only secrets also occur in timestamps and counters: for those the argv fields decide.
      const where = /^\d+$/.test(c.secret)
        ? { 'live stream': streamed().flat().join(' '), 'OTLP export': exported.flat().join(' ') }
        : outputs;
      for (const [name, text] of Object.entries(where)) if (text.includes(c.secret)) leaks.push(`${c.name}: in ${name}`);
      if (!has(streamed(), c.want)) missing.push(`${c.name}: stream`);
      if (!has(exported, c.want)) missing.push(`${c.name}: OTLP`);
    }
    assert.deepEqual(leaks, []);
    const redacted = Number(/^maxpro_redacted_values_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
    assert.ok(redacted >= PLANTED.length, `maxpro_redacted_values_total ${redacted}`);
    assert.match(metrics, /^maxpro_redaction_masked_whole_total\{reason="match_budget"\} 0$/m);
    assert.deepEqual(missing, [], 'every planted row arrives as its redacted argv');
    const changed = ORDINARY.flatMap((args) => [
      ...(has(streamed(), args) ? [] : [`${args.join(' ')}: stream`]),
      ...(has(exported, args) ? [] : [`${args.join(' ')}: OTLP`]),
    ]);
    assert.deepEqual(changed, [], 'ordinary commands arrive unchanged');
  });

  test('a reload with a new pattern reaches the argv on the stream and in the OTLP export', async () => {
    const before = [comm, 'reload-before', 'plant41'];
    run(before);
    assert.ok(await waitFor(() => has(streamed(), before) && has(exported, before), 5000), 'kept as is before the reload');
    await agent.reload(parseConfigText(configText(['plant[0-9]+']), 'redact.yaml').config);
    const after = [comm, 'reload-after', 'plant42'];
    const want = [comm, 'reload-after', '***'];
    run(after);
    assert.ok(await waitFor(() => has(streamed(), want) && has(exported, want), 5000),
      `stream ${JSON.stringify(streamed().slice(-2))}, export ${JSON.stringify(exported.slice(-2))}`);
    await sleep(300);
    assert.ok(!events.map((e) => JSON.stringify(e)).join('\n').includes('plant42'), 'stream');
    assert.ok(!bodies.join('\n').includes('plant42'), 'OTLP export');
  });
});
