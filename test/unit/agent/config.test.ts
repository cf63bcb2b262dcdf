// SPDX-License-Identifier: Apache-2.0
// Agent configuration: schema errors with file:line, overrides, published JSON Schema.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, MAX_CONFIG_BYTES, parseConfigText } from '../../../src/agent/config/load-config.js';
import { resolveConfig } from '../../../src/agent/config/config-overrides.js';
import { resolveConfigInWorker } from '../../../src/agent/config/config-worker.js';
import { agentConfigJsonSchema } from '../../../src/agent/config/agent-config.js';
import { ConfigError } from '../../../src/lib/errors.js';
import { main } from '../../../src/cli/main.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

function refused(text: string): ConfigError {
  try {
    parseConfigText(text, 'agent.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('config was accepted');
}

describe('agent config', () => {
  test('an absent section is the section parsed from {}: one default per key, whichever level is left out', () => {
    const empty = parseConfigText('', 'empty.yaml').config;
    const spelled = parseConfigText('agent: {}\nprobes: { process: {}, tcp: { metrics: {} } }\nkubernetes: {}\nredaction: {}\n'
      + 'http: { stream: {} }\nexporters: { otlp: {}, remoteWrite: {} }\n', 'spelled.yaml').config;
    assert.deepEqual(spelled, empty);
    assert.equal(empty.probes.process.maxArgs, 128);
    assert.equal(empty.exporters.remoteWrite.queueSize, 8192);
    assert.equal(empty.http.stream.clientBufferBytes, 1 << 20);
  });

  test('defaults fill an empty file', () => {
    const { config } = parseConfigText('', 'empty.yaml');
    assert.equal(config.http.listen, '127.0.0.1:9464');
    assert.equal(config.agent.pinDir, '/sys/fs/bpf/maxpro');
    assert.equal(config.policy.default, 'keep');
    assert.equal(config.probes.tcp.enabled, true);
    assert.deepEqual(config.probes.tcp.metrics, { labels: ['cgroup', 'container', 'pod', 'namespace', 'port_class'], maxSeries: 500, podLabels: [] });
    assert.equal(config.exporters.otlp.enabled, false);
  });

  const bad: { name: string; text: string; line: number; reason: RegExp }[] = [
    { name: 'wrong type', text: 'agent:\n  pinDir: /sys/fs/bpf/x\n  drainTimeoutMs: soon\n', line: 3, reason: /agent\.drainTimeoutMs: wrong type: expected number/ },
    { name: 'unknown key', text: 'http:\n  listen: 127.0.0.1:1\n  lisen: 1\n', line: 3, reason: /http\.lisen: unknown key "lisen"/ },
    { name: 'unknown top-level key', text: 'probes: {}\nexporter: {}\n', line: 2, reason: /exporter: unknown key/ },
    { name: 'invalid regex (redaction)', text: 'redaction:\n  extraPatterns:\n    - "(unclosed"\n', line: 3, reason: /invalid regular expression/ },
    { name: 'catastrophic redaction pattern', text: 'redaction:\n  extraPatterns:\n    - "hunter[0-9]+"\n    - "(a+)+$"\n', line: 4, reason: /nested quantifier "\(a\+\)\+" can backtrack/ },
    { name: 'redaction pattern with lookahead', text: 'redaction:\n  extraPatterns:\n    - "(?=x)y"\n', line: 3, reason: /linear-time engine.*lookaround/ },
    { name: 'redaction pattern with a backreference', text: 'redaction:\n  extraPatterns:\n    - "(a)\\\\1"\n', line: 3, reason: /linear-time engine/ },
    { name: 'redaction pattern matching the empty string', text: 'redaction:\n  extraPatterns:\n    - "\\\\b"\n', line: 3, reason: /matches the empty string/ },
    { name: 'invalid regex (selector)', text: 'policy:\n  rules:\n    - name: r\n      selector: comm=~"[a-"\n      action: keep\n', line: 4, reason: /invalid regular expression/ },
    { name: 'impossible threshold', text: 'policy:\n  rules:\n    - name: r\n      when: process.exit.code > 255\n      action: keep\n', line: 4, reason: /impossible threshold/ },
    { name: 'negative latency', text: 'policy:\n  rules:\n    - name: r\n      when: tcp.connect.latency < 0ms\n      action: keep\n', line: 4, reason: /impossible threshold/ },
    { name: 'duration without unit', text: 'policy:\n  rules:\n    - name: r\n      when: tcp.connect.latency > 100\n      action: keep\n', line: 4, reason: /needs a unit/ },
    { name: 'unknown field', text: 'policy:\n  rules:\n    - name: r\n      when: tcp.latency > 1ms\n      action: keep\n', line: 4, reason: /unknown field "tcp\.latency"/ },
    { name: 'bad action', text: 'policy:\n  rules:\n    - name: r\n      action: sample\n', line: 4, reason: /action/ },
    { name: 'rate limit on drop', text: 'policy:\n  rules:\n    - name: r\n      action: drop\n      rateLimit: { perSecond: 5 }\n', line: 5, reason: /rateLimit applies only to action keep/ },
    { name: 'duplicate policy', text: 'policy:\n  rules:\n    - { name: a, action: keep }\n    - { name: a, action: drop }\n', line: 4, reason: /duplicate policy name/ },
    { name: 'bad listen address', text: 'http:\n  listen: localhost\n', line: 2, reason: /host:port/ },
    { name: 'unknown tcp metric label', text: 'probes:\n  tcp:\n    metrics:\n      labels: [pod, node]\n', line: 4, reason: /probes\.tcp\.metrics\.labels\[1\]: .*expected one of "cgroup"/ },
    { name: 'a pod label that is no label key', text: 'probes:\n  tcp:\n    metrics:\n      podLabels: [app, "not a key"]\n', line: 4, reason: /probes\.tcp\.metrics\.podLabels\[1\]: expected a label key/ },
    { name: 'a pod label given twice', text: 'probes:\n  tcp:\n    metrics:\n      podLabels: [app, app]\n', line: 4, reason: /probes\.tcp\.metrics\.podLabels: each label key once/ },
    { name: 'non-positive tcp series cap', text: 'probes:\n  tcp:\n    metrics:\n      maxSeries: 0\n', line: 4, reason: /probes\.tcp\.metrics\.maxSeries: .*>=\s*1/ },
    // Keys that did nothing are gone, so a file that sets them is told so.
    { name: 'removed key (aggregates are read per scrape)', text: 'probes:\n  tcp:\n    aggregateIntervalMs: 1000\n', line: 3, reason: /probes\.tcp\.aggregateIntervalMs: unknown key/ },
    { name: 'removed key (/metrics is always served)', text: 'exporters:\n  prometheus:\n    enabled: false\n', line: 2, reason: /exporters\.prometheus: unknown key/ },
    { name: 'yaml syntax', text: 'agent:\n  pinDir: [\n', line: 3, reason: /\(yaml\)/ },
  ];
  for (const c of bad) {
    test(`refuses ${c.name} with file, line and reason`, () => {
      const err = refused(c.text);
      assert.equal(err.code, 'MAXPRO_ERR_CONFIG_INVALID');
      assert.equal(err.file, 'agent.yaml');
      assert.match(err.message, c.reason);
      assert.match(err.message, new RegExp(`^agent\\.yaml:${c.line}: `, 'm'), err.message);
    });
  }

  test('every problem is reported, one per line, in file order', () => {
    const err = refused('agent:\n  keepPinned: "no"\nhttp:\n  port: 1\n');
    const lines = err.message.split('\n');
    assert.equal(lines.length, 2, err.message);
    assert.match(lines[0]!, /^agent\.yaml:2: agent\.keepPinned/);
    assert.match(lines[1]!, /^agent\.yaml:4: http\.port: unknown key/);
  });

  test('environment and flags override the file; OTEL_* is honoured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-cfg-'));
    const file = join(dir, 'a.yaml');
    writeFileSync(file, 'http:\n  listen: 127.0.0.1:1000\nexporters:\n  otlp:\n    enabled: true\n    endpoint: http://file:4318\n');
    const r = resolveConfig({
      file,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=a%20b,k=v', MAXPRO_HTTP_LISTEN: '127.0.0.1:2000', MAXPRO_PROBE_TCP: 'false' },
      flags: { '--listen': '127.0.0.1:3000' },
    });
    assert.equal(r.config.exporters.otlp.endpoint, 'http://otel:4318');
    assert.deepEqual(r.config.exporters.otlp.headers, { 'x-tenant': 'a b', k: 'v' });
    assert.equal(r.config.http.listen, '127.0.0.1:3000');
    assert.equal(r.config.probes.tcp.enabled, false);
    // MAXPRO_* beats OTEL_*.
    const r2 = resolveConfig({ file, env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', MAXPRO_OTLP_ENDPOINT: 'http://maxpro:4318' } });
    assert.equal(r2.config.exporters.otlp.endpoint, 'http://maxpro:4318');
  });

  test('a bad override names its source', () => {
    assert.throws(() => resolveConfig({ env: { MAXPRO_DRAIN_TIMEOUT_MS: 'later' } }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^env MAXPRO_DRAIN_TIMEOUT_MS: agent\.drainTimeoutMs: wrong type/);
      return true;
    });
    assert.throws(() => resolveConfig({ env: {}, flags: { '--listen': 'nope' } }), /flag --listen: http\.listen: expected host:port/);
  });

  test('resolving in a worker thread gives the same config, and the same errors with file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-cfg-'));
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(good, 'http:\n  listen: 127.0.0.1:1234\n');
    writeFileSync(bad, 'http:\n  listen: 127.0.0.1:1234\n  extra: 1\n');
    const env = { MAXPRO_PROBE_TCP: 'false' };
    assert.deepEqual(await resolveConfigInWorker({ file: good, env }), resolveConfig({ file: good, env }));
    await assert.rejects(resolveConfigInWorker({ file: bad, env }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, bad);
      assert.equal(err.line, 3);
      assert.match(err.message, /http\.extra: unknown key/);
      return true;
    });
  });

  test('an unreadable file is a ConfigError naming it', () => {
    assert.throws(() => loadConfigFile('/nonexistent/maxpro.yaml'), /\/nonexistent\/maxpro\.yaml: cannot read: ENOENT/);
  });

  describe('limits before parsing: size, UTF-8, aliases, each with file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpx-cfg-limits-'));
    const BOMB = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n'
      + 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n';
    const cases: { name: string; bytes: () => Buffer; match?: RegExp; ok?: boolean }[] = [
      { name: 'one byte over the size limit', bytes: () => Buffer.concat([Buffer.from('# '), Buffer.alloc(MAX_CONFIG_BYTES - 1, 0x20)]), match: /big\.yaml: \(file\): 1\.0 MiB exceeds the 1\.0 MiB limit/ },
      { name: 'a byte that is not UTF-8 on line 3', bytes: () => Buffer.concat([Buffer.from('agent:\n  logLevel: info\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]), match: /big\.yaml:3: \(file\): not UTF-8: byte 0xe9 at offset 29/ },
      { name: 'an overlong encoding of "/"', bytes: () => Buffer.concat([Buffer.from('# '), Buffer.from([0xc0, 0xaf])]), match: /big\.yaml:1: \(file\): not UTF-8: byte 0xc0/ },
      { name: 'a UTF-16 surrogate encoded in UTF-8', bytes: () => Buffer.concat([Buffer.from('#\n\n# '), Buffer.from([0xed, 0xa0, 0x80])]), match: /big\.yaml:3: \(file\): not UTF-8: byte 0xed/ },
      { name: 'an alias bomb', bytes: () => Buffer.from(`agent: {}\n${BOMB}`), match: /big\.yaml:3: \(yaml\): aliases expand past 100 nodes/ },
      { name: 'valid multi-byte text', bytes: () => Buffer.from('# café 😀 日本\nagent: {}\n'), ok: true },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const file = join(dir, 'big.yaml');
        writeFileSync(file, c.bytes());
        if (c.ok) {
          assert.doesNotThrow(() => loadConfigFile(file));
          return;
        }
        assert.throws(() => loadConfigFile(file), (e: unknown) => e instanceof ConfigError && c.match!.test(e.message) && e.file === file);
      });
    }
    test('a 50 MB file is refused at once, without being read', () => {
      const file = join(dir, 'huge.yaml');
      writeFileSync(file, Buffer.alloc(50 * 1024 * 1024, 0x20));
      const rss = process.memoryUsage().rss;
      const t0 = performance.now();
      assert.throws(() => loadConfigFile(file), /huge\.yaml: \(file\): 50\.0 MiB exceeds/);
      assert.ok(performance.now() - t0 < 200, `${performance.now() - t0} ms`);
      assert.ok(process.memoryUsage().rss - rss < 16 * 1024 * 1024, 'not held in memory');
    });
    test('text over the limit is refused by the parser too (overrides, stdin)', () => {
      assert.match(refused(`# ${'x'.repeat(MAX_CONFIG_BYTES)}`).message, /agent\.yaml: \(file\): .* exceeds/);
    });
  });

  test('docs/config.schema.json is up to date', () => {
    const published = JSON.parse(readFileSync(join(root, 'docs/config.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(published, agentConfigJsonSchema(), 'regenerate with: node bin/maxpro.js config schema > docs/config.schema.json');
  });

  test('`maxpro config check` exits 1 with the reasons, 0 on a good file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-cfg-'));
    const badFile = join(dir, 'bad.yaml');
    const goodFile = join(dir, 'good.yaml');
    writeFileSync(badFile, 'probes:\n  tcp:\n    enabled: yes please\n');
    writeFileSync(goodFile, 'policy:\n  default: drop\n  rules:\n    - name: slow\n      selector: app=payment\n      when: tcp.connect.latency > 100ms\n      action: keep\n');
    const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = '', err = '';
      const sink = (f: (s: string) => void) => ({ write: (s: string) => { f(s); return true; } }) as unknown as NodeJS.WritableStream;
      const code = await main(args, { out: sink((s) => { out += s; }), err: sink((s) => { err += s; }), signal: new AbortController().signal });
      return { code, out, err };
    };
    const b = await run(['config', 'check', badFile]);
    assert.equal(b.code, 1);
    assert.match(b.err, new RegExp(`${badFile}:3: probes\\.tcp\\.enabled: wrong type: expected boolean`));
    const g = await run(['config', 'check', goodFile]);
    assert.equal(g.code, 0, g.err);
    assert.match(g.out, /ok \(probes: process, tcp; 1 policy rule\(s\), default drop; kernel push-down: tcp thresholds in the kernel, process cgroup allow, tcp cgroup allow\)/);
  });
});
