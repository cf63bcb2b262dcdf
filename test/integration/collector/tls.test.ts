// SPDX-License-Identifier: Apache-2.0
// The collector over TLS, with a self-signed certificate made by openssl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { mustStartCollector, mustTempDir, TESTDATA, TESTDATA_SKIP, TOKEN } from './collector-fixture.js';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('TLS: OTLP over HTTPS with the configured certificate', { skip: haveOpenssl() ? TESTDATA_SKIP : 'openssl is not installed' }, async (t) => {
  const dir = mustTempDir(t);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const c = await mustStartCollector(t, { tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
  assert.match(c.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const body = readFileSync(join(TESTDATA, 'otlp/examples-binpb/trace.binpb'));
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${c.url}/v1/traces`, { method: 'POST', ca: cert, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-protobuf' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(status, 200);
  assert.equal(c.stats().accepted.traces, 1);
  // An untrusting client is refused by its own TLS check, not served in clear text.
  await assert.rejects(fetch(`${c.url}/healthz`));
});
