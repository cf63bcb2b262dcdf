// SPDX-License-Identifier: Apache-2.0
// What `maxpro up` prints: the OTLP endpoints and the variables an application needs (no token, only
// its file), and README's printed block is exactly that output for the default addresses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatUpBanner } from '../../../src/cli/up-banner.js';

const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));
const DEFAULTS = {
  agentUrl: 'http://127.0.0.1:9464', agentTokenFile: '/var/lib/maxpro/agent.token', pprof: false, probes: ['process', 'tcp'], root: true,
  collector: { url: 'http://127.0.0.1:4318', grpcUrl: 'http://127.0.0.1:4317', tokenFile: '/var/lib/maxpro/collector.token' },
};

describe('maxpro up banner', () => {
  test('names both OTLP endpoints, the token files and the OTEL_EXPORTER_OTLP_* line', () => {
    const text = formatUpBanner(DEFAULTS);
    assert.match(text, /^ {2}collector http:\/\/127\.0\.0\.1:4318 {2}\(OTLP\/HTTP/m);
    assert.match(text, /^ {2}otlp-grpc http:\/\/127\.0\.0\.1:4317 /m);
    assert.match(text, /^ {2}app env {3}OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:4318 OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer \$\(cat \/var\/lib\/maxpro\/collector\.token\)"$/m);
    assert.doesNotMatch(text, /pprof/, 'pprof is off by default');
    assert.match(formatUpBanner({ ...DEFAULTS, pprof: true }), /^ {2}pprof {5}http:\/\/127\.0\.0\.1:9464\/debug\/pprof\/profile/m);
    assert.match(formatUpBanner({ ...DEFAULTS, root: false }), /\$\(sudo cat \/var\/lib\/maxpro\/collector\.token\)/);
  });

  test("README's printed block is the real output", () => {
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf('maxpro up\n  metrics');
    assert.ok(start >= 0, 'README has no printed `maxpro up` block');
    const printed = formatUpBanner(DEFAULTS);
    assert.equal(readme.slice(start, start + printed.length), printed);
  });
});
