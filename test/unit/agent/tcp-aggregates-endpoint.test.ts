// SPDX-License-Identifier: Apache-2.0
// The agent's /tcp/aggregates without a TCP probe (no root: the agent runs without probes): a JSON 404
// that says why, so `top tcp` can report it or fall back to loading its own probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAgent } from '../../../src/agent/agent.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { localCredential } from '../../../src/lib/http/local-endpoints.js';

test('an agent without a TCP probe answers /tcp/aggregates with a JSON 404 naming why', async () => {
  const config = parseConfigText(['http:', '  listen: 127.0.0.1:0', '  pprof: false'].join('\n'), 'no-probes.yaml').config;
  const agent = await createAgent({ config, probes: false });
  try {
    assert.equal((await fetch(`${agent.url}/tcp/aggregates`)).status, 401, 'the aggregates need the agent token');
    const res = await fetch(`${agent.url}/tcp/aggregates`, { headers: { authorization: `Bearer ${localCredential('agent').token}` } });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'no TCP aggregates: the agent runs without probes', code: 'MAXPRO_ERR_NOT_FOUND' });
  } finally {
    await agent.shutdown();
  }
});
