// SPDX-License-Identifier: Apache-2.0
/**
 * Request targets and methods a client library would never send, against the
 * agent's and the collector's real HTTP servers: every one is answered, none
 * takes the server down, and HEAD answers what GET does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import { createLiveStream } from '../../../src/agent/http/live-stream.js';
import { createSelfMetrics } from '../../../src/agent/self-metrics.js';
import { mustStartCollector, TOKEN } from '../collector/collector-fixture.js';
import { rawRequest, requestText } from '../../helpers/raw-http.js';

/** Targets that once threw in `new URL(target, base)` or in percent-decoding. */
const HOSTILE_TARGETS = [
  '//', '///', '//x', '//metrics', '//x/y?z=1', '/%', '/%zz', '/metrics?%', '/metrics?seconds=%ff', '/..', '/../../etc/passwd',
  '/stream?probe=%ff', '/stream?probe=nope', '/stream?%zz=%zz', '/debug/pprof/profile?seconds=%', '/debug/pprof/profile?seconds=1e400',
  '/api/traces/%zz', '/api/traces/%', '/api/spans?limit=%', '/api/spans?start=%ff', '/api//', '/api/traces//x',
  'http://[', 'http://agent/healthz', 'https://x:99999/', 'http://a@b/', '*', 'x', '?',
];

describe('hostile request targets', () => {
  test('agent: every target answered with a status, the server stays up', async (t) => {
    const server = await createAgentHttpServer({
      listen: '127.0.0.1:0', collect: () => createSelfMetrics().collect(), notReady: () => undefined, stream: createLiveStream({ maxClients: 4 }), pprof: true, auth: { disabled: true },
    });
    t.after(() => server.close());
    for (const target of HOSTILE_TARGETS) {
      for (const method of ['GET', 'HEAD']) {
        const a = await rawRequest(server.url, requestText(method, target), 3000);
        assert.ok(a.status >= 200 && a.status < 600, `${method} ${target}: no status (got ${JSON.stringify(a.text.slice(0, 80))})`);
        if (target.startsWith('/stream') && a.status === 200) continue;
        assert.ok(a.status < 500, `${method} ${target}: ${a.status} is a server error for a client's mistake`);
      }
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('agent: HEAD answers like GET, without a body, and ends even for /stream and profiles', async (t) => {
    const server = await createAgentHttpServer({
      listen: '127.0.0.1:0', collect: () => createSelfMetrics().collect(), notReady: () => undefined, stream: createLiveStream({ maxClients: 4 }), pprof: true, auth: { disabled: true },
    });
    t.after(() => server.close());
    const cases: Array<{ path: string; get: number }> = [
      { path: '/metrics', get: 200 }, { path: '/healthz', get: 200 }, { path: '/readyz', get: 200 }, { path: '/nope', get: 404 },
      { path: '/stream', get: 200 }, { path: '/debug/pprof/heap', get: 200 }, { path: '/debug/pprof/profile?seconds=30', get: 200 },
      { path: '/debug/pprof/profile?seconds=999', get: 400 },
    ];
    for (const c of cases) {
      const started = Date.now();
      const a = await rawRequest(server.url, requestText('HEAD', c.path), 3000);
      assert.equal(a.status, c.get, `HEAD ${c.path}`);
      assert.ok(a.closed && Date.now() - started < 2000, `HEAD ${c.path} did not end promptly`);
      assert.equal(a.text.split('\r\n\r\n')[1] ?? '', '', `HEAD ${c.path} sent a body`);
    }
    // A HEAD of /debug/pprof/profile started no profile: a GET is not refused as busy.
    assert.equal((await fetch(`${server.url}/debug/pprof/profile?seconds=0.2`)).status, 200);
  });

  test('collector: every target answered with a client-error status at worst, HEAD works on the query API', async (t) => {
    const c = await mustStartCollector(t);
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const target of HOSTILE_TARGETS) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        const a = await rawRequest(c.url, requestText(method, target, method === 'POST' ? { ...auth, 'content-length': '0' } : auth), 3000);
        assert.ok(a.status >= 200 && a.status < 500, `${method} ${target}: ${a.status} (${JSON.stringify(a.text.slice(0, 120))})`);
      }
    }
    for (const path of ['/api/spans', '/api/services', '/metrics', '/healthz']) {
      const get = await fetch(`${c.url}${path}`, { headers: auth });
      const head = await rawRequest(c.url, requestText('HEAD', path, auth), 3000);
      assert.equal(head.status, get.status, `HEAD ${path}`);
      assert.ok(head.closed, `HEAD ${path} did not end`);
    }
    assert.equal((await fetch(`${c.url}/healthz`)).status, 200);
  });
});
