// SPDX-License-Identifier: Apache-2.0
// The agent's endpoints and the collector's scheme: a token in a file only its owner reads, sent as
// Authorization: Bearer. /stream, /tcp/aggregates and pprof need it; /metrics and health are open on
// loopback only; authentication cannot be off on another address; the CLI clients find the token.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { openLiveStream } from '../../../src/agent/http/live-stream-client.js';
import { createLiveStream } from '../../../src/agent/http/live-stream.js';
import { agentCommand } from '../../../src/cli/commands/agent.js';
import { ConfigError } from '../../../src/lib/errors.js';

const state = mkdtempSync(join(tmpdir(), 'maxpro-agent-auth-'));
const savedState = process.env.MAXPRO_STATE_DIR;
process.env.MAXPRO_STATE_DIR = state;
after(() => {
  if (savedState === undefined) delete process.env.MAXPRO_STATE_DIR; else process.env.MAXPRO_STATE_DIR = savedState;
  rmSync(state, { recursive: true, force: true });
});

const agentWith = async (yaml: string[]): Promise<Awaited<ReturnType<typeof createAgent>>> =>
  createAgent({ config: parseConfigText(['http:', ...yaml].join('\n'), 'auth.yaml').config, probes: false, log: () => undefined });

describe('agent authentication', () => {
  test('default: token file created 0600; private endpoints 401 without it, served with it; metrics and health open on loopback', async () => {
    const agent = await agentWith(['  listen: 127.0.0.1:0', '  pprof: true']);
    try {
      const file = join(state, 'agent.token');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const { readPrivateTokenFile } = await import('../../../src/lib/http/token-file.js');
      const token = readPrivateTokenFile(file);
      const cases: Array<{ path: string; anonymous: number; withToken: number }> = [
        { path: '/stream', anonymous: 401, withToken: 200 },
        { path: '/tcp/aggregates', anonymous: 401, withToken: 404 },
        { path: '/debug/pprof/heap', anonymous: 401, withToken: 200 },
        { path: '/debug/pprof/profile?seconds=0.1', anonymous: 401, withToken: 200 },
        { path: '/metrics', anonymous: 200, withToken: 200 },
        { path: '/healthz', anonymous: 200, withToken: 200 },
        { path: '/readyz', anonymous: 200, withToken: 200 },
      ];
      for (const c of cases) {
        for (const [headers, want] of [[{}, c.anonymous], [{ authorization: 'Bearer wrong' }, c.anonymous], [{ authorization: `Bearer ${token}` }, c.withToken]] as const) {
          const ac = new AbortController();
          const res = await fetch(`${agent.url}${c.path}`, { headers, signal: ac.signal });
          assert.equal(res.status, want, `${c.path} with ${JSON.stringify(headers).replace(token, '<token>')}`);
          if (res.status === 401) {
            assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="maxpro-agent"');
            assert.match(await res.text(), new RegExp(`needs Authorization: Bearer <token> \\(the agent's token is in ${file}\\)`));
          }
          ac.abort();
        }
      }
      const m = await (await fetch(`${agent.url}/metrics`)).text();
      assert.match(m, /^maxpro_agent_http_refusals_total\{reason="unauthorized"\} (?:[8-9]|\d\d+)$/m);
    } finally {
      await agent.shutdown();
    }
  });

  test('pprof is off by default; http.auth.open: [] closes /metrics too', async () => {
    const agent = await agentWith(['  listen: 127.0.0.1:0', '  auth:', '    open: []']);
    try {
      const { localCredential } = await import('../../../src/lib/http/local-endpoints.js');
      const auth = { authorization: `Bearer ${localCredential('agent').token}` };
      assert.equal((await fetch(`${agent.url}/debug/pprof/heap`, { headers: auth })).status, 404);
      assert.equal((await fetch(`${agent.url}/metrics`)).status, 401);
      assert.equal((await fetch(`${agent.url}/healthz`)).status, 401);
      assert.equal((await fetch(`${agent.url}/metrics`, { headers: auth })).status, 200);
    } finally {
      await agent.shutdown();
    }
  });

  test('a non-loopback listen: /metrics needs the token unless listed open; auth off is refused with where and why', async () => {
    const agent = await agentWith(['  listen: 0.0.0.0:0']);
    try {
      const port = new URL(agent.url).port;
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    } finally {
      await agent.shutdown();
    }
    assert.throws(() => parseConfigText(['http:', '  listen: 0.0.0.0:9464', '  auth:', '    enabled: false'].join('\n'), 'open.yaml'),
      (e: unknown) => e instanceof ConfigError && /open\.yaml:4/.test(e.message) && /loopback/.test(e.message), 'refused with file:line');
    // Off on loopback is allowed (local development), and then no subscriber can widen the kernel side.
    const off = await agentWith(['  listen: 127.0.0.1:0', '  auth:', '    enabled: false']);
    try {
      assert.equal((await fetch(`${off.url}/tcp/aggregates`)).status, 404);
    } finally {
      await off.shutdown();
    }
  });

  test('agent --help suggests no unauthenticated wildcard listen', () => {
    assert.doesNotMatch(agentCommand.help, /0\.0\.0\.0/);
    assert.match(agentCommand.help, /Authorization: Bearer/);
  });

  test('the stream client finds the token file with no option; a wrong MAXPRO_AGENT_TOKEN gets a 401 that says so', async () => {
    const agent = await agentWith(['  listen: 127.0.0.1:0']);
    try {
      const sub = await openLiveStream({ url: agent.url, onEvent: () => undefined });
      sub.close();
      await sub.done;
      process.env.MAXPRO_AGENT_TOKEN = 'not-the-token';
      try {
        await assert.rejects(openLiveStream({ url: agent.url, onEvent: () => undefined }), /HTTP 401 .*token sent was not accepted/);
      } finally {
        delete process.env.MAXPRO_AGENT_TOKEN;
      }
      process.env.MAXPRO_AGENT_TOKEN_FILE = join(state, 'missing.token');
      try {
        await assert.rejects(openLiveStream({ url: agent.url, onEvent: () => undefined }), /HTTP 401 .*no agent token: cannot read the token file .*missing\.token/);
      } finally {
        delete process.env.MAXPRO_AGENT_TOKEN_FILE;
      }
    } finally {
      await agent.shutdown();
    }
  });

  test('an unauthenticated subscriber does not widen the kernel filters for everyone', () => {
    const stream = createLiveStream({ maxClients: 4 });
    const fakeReq = (url: string) => Object.assign(new (class { on() { return this; } })(), { url, socket: { remoteAddress: '127.0.0.1' } });
    const fakeRes = () => ({ writeHead() { return this; }, write() { return true; }, end() { return this; }, on() { return this; }, writableLength: 0 });
    stream.attach(fakeReq('/stream?probe=process') as never, fakeRes() as never, { widen: false });
    assert.deepEqual(stream.wantedProbes(), []);
    assert.equal(stream.demand('tcp'), undefined);
    stream.attach(fakeReq('/stream?probe=process') as never, fakeRes() as never, { widen: true });
    assert.deepEqual(stream.wantedProbes(), ['process']);
    stream.close();
  });
});
