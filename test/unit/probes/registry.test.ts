// SPDX-License-Identifier: Apache-2.0
// The probe registry is the one list of probes: names are unique, each probe
// has its module file, and the config, policy and stream vocabularies follow it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { repoRoot } from '../../../src/ebpf/index.js';
import { PROBE_MODULES, PROBE_NAMES } from '../../../src/probes/registry.js';
import { POLICY_PROBES } from '../../../src/agent/policy/policy-keys.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { parseStreamFilter } from '../../../src/agent/http/stream-filter.js';

test('registry: unique names, one module file per probe', () => {
  assert.equal(new Set(PROBE_NAMES).size, PROBE_MODULES.length);
  for (const m of PROBE_MODULES) {
    assert.match(m.name, /^[a-z][a-z0-9_]*$/);
    assert.ok(m.summary.length > 0, `${m.name} has a summary`);
    assert.ok(existsSync(`${repoRoot()}/src/probes/${m.name}/${m.name}-module.ts`), `src/probes/${m.name}/${m.name}-module.ts`);
  }
});

test('policies, the config and the live stream know exactly the registered probes', () => {
  assert.deepEqual([...POLICY_PROBES], [...PROBE_NAMES]);
  assert.deepEqual(Object.keys(parseConfigText('', 'empty.yaml').config.probes).sort(), [...PROBE_NAMES].sort());
  for (const p of PROBE_NAMES) assert.equal(parseStreamFilter(new URLSearchParams({ probe: p })).probe, p);
  assert.throws(() => parseStreamFilter(new URLSearchParams({ probe: 'nosuchprobe' })), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
});
