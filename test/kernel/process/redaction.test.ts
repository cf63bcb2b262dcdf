// SPDX-License-Identifier: Apache-2.0
// Plants fake secrets in real exec'd command lines (successful and failed
// execs, shell-split words, environment assignments) and checks that no
// output contains them: the JSON stream and the live table of
// `maxpro trace exec`, its log lines, the pipeline's metrics and its OTLP
// export (protobuf and JSON). A marker in every command proves the events
// did reach each output.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { main } from '../../../src/cli/main.js';
import { createProcessPipeline } from '../../../src/probes/process/process-pipeline.js';
import type { ProcessRecord } from '../../../src/probes/process/process-schema.js';
import { processRecordsToOtlpLogs } from '../../../src/probes/process/process-otlp.js';
import { encodeExportRequest } from '../../../src/lib/otlp/otlp-codec.js';
import { formatJsonLine } from '../../../src/cli/output/json-lines.js';

const skip = kernelSkip();

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let t = '';
  stream.on('data', (d) => { t += String(d); });
  return { stream, text: () => t };
}

describe('redaction end to end', { skip, timeout: 60_000 }, () => {
  test('no planted secret reaches any output', async () => {
    const rnd = (): string => randomBytes(9).toString('base64url');
    const marker = `mpx-redact-${process.pid}`;
    const akia = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secrets = {
      password: `pw${rnd()}`, dashP: `pp${rnd()}`, token: `tk${rnd()}`, env: `ev${rnd()}`, bearer: `br${rnd()}`,
      failed: `fx${rnd()}`, url: `ur${rnd()}`, shell: `sh${rnd()}`, akia,
    };
    // `-p` is a password for mysql and its tools only: a copy of /bin/true named mysql.
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-redact-'));
    const mysql = join(dir, 'mysql');
    copyFileSync('/bin/true', mysql);
    chmodSync(mysql, 0o755);
    const commands: [string, string[]][] = [
      ['/bin/true', [marker, `--password=${secrets.password}`]],
      [mysql, [marker, '-u', 'root', '-p', secrets.dashP]],
      ['/bin/true', [marker, `https://api.example.com/v1?token=${secrets.token}&page=2`]],
      ['/usr/bin/env', [`DB_SECRET=${secrets.env}`, '/bin/true', marker]],
      ['/bin/true', [marker, secrets.akia]],
      ['/bin/sh', ['-c', `/bin/true ${marker} Authorization: Bearer ${secrets.bearer}`]],
      ['/bin/sh', ['-c', `${mysql} ${marker} -p ${secrets.shell}`]],
      ['/nonexistent/maxpro-redact', [marker, `--token=${secrets.failed}`]],
      ['/bin/true', [marker, `postgres://app:${secrets.url}@db:5432/x`]],
    ];

    const json = capture();
    const jsonErr = capture();
    const table = capture();
    const tableErr = capture();
    const ac = new AbortController();
    const cliJson = main(['trace', 'exec', '--json'], { out: json.stream, err: jsonErr.stream, signal: ac.signal });
    const cliTable = main(['trace', 'exec', '--ancestry'], { out: table.stream, err: tableErr.stream, signal: ac.signal });
    const notices: string[] = [];
    const records: ProcessRecord[] = [];
    const pipeline = await createProcessPipeline({ onRecords: (r) => records.push(...r), onNotice: (m) => notices.push(m) });
    await waitFor(() => table.text().includes('TIME'), 5000);
    await sleep(300); // both CLI probes attached

    for (const [file, args] of commands) spawnSync(file, args, { stdio: 'ignore' });
    const execsWithMarker = (): number => records.filter((r) => r['event.name'] === 'process.exec' && (r['process.command_args'] ?? []).some((a) => a.includes(marker))).length;
    await waitFor(() => execsWithMarker() >= commands.length + 1, 5000);
    await sleep(200);
    ac.abort();
    assert.equal(await cliJson, 0);
    assert.equal(await cliTable, 0);
    const stats = await pipeline.close();

    const otlp = processRecordsToOtlpLogs(records, { 'service.name': 'maxpro-agent' });
    const outputs: Record<string, string> = {
      'trace exec --json stream': json.text(),
      'trace exec --json log lines': jsonErr.text(),
      'trace exec table': table.text(),
      'trace exec table log lines': tableErr.text(),
      'pipeline JSON lines': records.map((r) => formatJsonLine(r)).join(''),
      'pipeline metrics': pipeline.metricsText(),
      'pipeline notices': notices.join('\n'),
      'OTLP protobuf': Buffer.from(encodeExportRequest('logs', otlp, 'protobuf')).toString('latin1'),
      'OTLP JSON': Buffer.from(encodeExportRequest('logs', otlp, 'json')).toString('utf8'),
    };
    // Each command exec'd once, /usr/bin/env and the two shells exec their command again.
    const expected = commands.length + 3;
    assert.ok(execsWithMarker() >= expected, `pipeline saw ${execsWithMarker()} marked execs`);
    assert.ok(json.text().split('\n').filter((l) => l.includes(marker)).length >= expected, 'JSON stream carries the events');
    assert.ok(table.text().split('\n').filter((l) => l.includes(marker)).length >= expected, 'table carries the events');
    assert.ok(outputs['OTLP protobuf']!.includes(marker), 'OTLP carries the events');
    assert.ok(json.text().includes('--password=***'), 'redacted values are masked, not dropped');
    for (const [where, text] of Object.entries(outputs)) {
      for (const [name, secret] of Object.entries(secrets)) {
        assert.ok(!text.includes(secret), `secret "${name}" leaked into ${where}`);
      }
    }
    assert.ok(stats.redacted >= commands.length, `redacted ${stats.redacted}`);
    rmSync(dir, { recursive: true, force: true });
  });
});
