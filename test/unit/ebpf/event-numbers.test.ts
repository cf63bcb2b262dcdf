// SPDX-License-Identifier: Apache-2.0
// Event kinds and drop reasons are numbers shared with C: a renumbered kind
// would misroute records and a shifted reason would mislabel losses, with
// every layout still matching. Both are read from event.h and compared.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoRoot } from '../../../src/ebpf/index.js';
import { MAP_DROP_REASONS } from '../../../src/ebpf/drop-counters.js';
import { eventCatalog } from '../../../src/probes/event-layouts.js';

const EVENT_KINDS = (await eventCatalog()).kinds;
const EVENT_H = readFileSync(`${repoRoot()}/bpf/include/maxpro/event.h`, 'utf8');

/** The enumerators of `enum <name> {…}`, without their common prefix. */
function cEnum(name: string, prefix: string): Map<string, number> {
  const body = new RegExp(`enum ${name}\\s*\\{([^}]*)\\}`).exec(EVENT_H)?.[1];
  assert.ok(body, `enum ${name} in event.h`);
  const out = new Map<string, number>();
  for (const m of body.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/(\w+)\s*=\s*(\d+)/g)) {
    assert.ok(m[1]!.startsWith(prefix), `${m[1]} starts with ${prefix}`);
    out.set(m[1]!.slice(prefix.length), Number(m[2]));
  }
  return out;
}

describe('event.h numbers', () => {
  test('every enum maxpro_event_kind value is the one TypeScript dispatches on, and no other', () => {
    const c = cEnum('maxpro_event_kind', 'MAXPRO_EV_');
    assert.ok(c.size >= 13, 'parsed the kinds');
    assert.deepEqual(new Map(Object.entries(EVENT_KINDS).sort((a, b) => a[1] - b[1])), new Map([...c].sort((a, b) => a[1] - b[1])));
  });

  test('kind numbers are unique', () => {
    const values = Object.values(EVENT_KINDS);
    assert.equal(new Set(values).size, values.length);
  });

  test('drop reasons: the drops map index of each TS reason is its enum maxpro_drop_reason value', () => {
    const c = cEnum('maxpro_drop_reason', 'MAXPRO_DROP_');
    const max = c.get('_MAX');
    c.delete('_MAX');
    // C names the failing call, TS names the outcome.
    const NAMES: Record<string, string> = { RESERVE: 'ringbuf_full', OUTPUT: 'output_failed', HELPER: 'helper_failed', MAP_FULL: 'map_full' };
    assert.deepEqual([...c.keys()].map((k) => NAMES[k] ?? `unnamed ${k}`), [...c.keys()].map((k) => MAP_DROP_REASONS[c.get(k)!]));
    assert.equal(c.size, MAP_DROP_REASONS.length, 'one TS reason per C reason');
    assert.ok(max !== undefined && max >= MAP_DROP_REASONS.length, 'MAXPRO_DROP__MAX bounds the reasons');
  });
});
