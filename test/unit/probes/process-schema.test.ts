// SPDX-License-Identifier: Apache-2.0
// The process event schema: docs/process-events.md lists exactly the module's attributes (name, type,
// events), and what the enrichment stage builds for each event kind stays inside the schema.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createProcessEnricher } from '../../../src/enrich/process-enricher.js';
import { createRedactor } from '../../../src/enrich/redaction.js';
import type { ProcessEvent } from '../../../src/probes/process/process-event.js';
import { PROCESS_ATTRIBUTES, processRecordAttributes } from '../../../src/probes/process/process-schema.js';
import type { ProcessAttribute } from '../../../src/probes/process/process-schema.js';

const DOC = fileURLToPath(new URL('../../../../docs/process-events.md', import.meta.url));
const DOC_TYPES: Record<string, ProcessAttribute['type']> = { 'string': 'string', 'int': 'int', 'bool': 'bool', 'string[]': 'string[]', '{pid, comm?, exe?}[]': 'ancestry' };

/** Rows of the docs' attribute table as [name, type, events]. */
function docRows(): { name: string; type: string; events: string }[] {
  const text = readFileSync(DOC, 'utf8');
  const start = text.indexOf('| attribute | type | events | meaning |');
  assert.ok(start >= 0, 'docs/process-events.md has the attribute table');
  const rows: { name: string; type: string; events: string }[] = [];
  for (const line of text.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [names, type, events] = line.split('|').slice(1, 4).map((c) => c.trim());
    for (const n of names!.split(',')) rows.push({ name: n.trim().replace(/`/g, ''), type: type!.replace(/`/g, ''), events: events! });
  }
  return rows;
}

const eventsOf = (col: string): ProcessAttribute['events'] => {
  if (col === 'all') return 'all';
  return (['exec', 'fork', 'exit'] as const).filter((k) => new RegExp(`\\b${k}\\b`).test(col));
};

describe('process event schema', () => {
  test('docs/process-events.md lists every attribute of the module, with its type and events, in order', () => {
    const rows = docRows();
    assert.deepEqual(rows.map((r) => r.name), PROCESS_ATTRIBUTES.map((a) => a.name));
    for (const [i, r] of rows.entries()) {
      const a = PROCESS_ATTRIBUTES[i]!;
      assert.equal(DOC_TYPES[r.type], a.type, `${a.name}: type ${r.type}`);
      assert.deepEqual(eventsOf(r.events), a.events, `${a.name}: events ${r.events}`);
    }
  });

  const base = { bootNs: 5e9, pid: 4242, tid: 4242, ppid: 1, cgroupId: 1, startBootNs: 4e9, comm: 'true' };
  const events: ProcessEvent[] = [
    { ...base, type: 'fork', uid: 1000, gid: 1000, mntnsId: 9, pidnsId: 8, nsPid: 4242 },
    {
      ...base, type: 'exec', flags: 0, oldTid: 4242, uid: 1000, gid: 1000, euid: 0, egid: 0, mntnsId: 9, pidnsId: 8, nsPid: 4242,
      argc: 3, retval: 0, filename: '/bin/true', args: ['/bin/true', 'a1', '--password=hunter2'], argsTruncated: false,
      filenameTruncated: false, argsFault: false, argsTotalBytes: 30,
    },
    {
      ...base, type: 'exec', flags: 32, oldTid: 4243, uid: 1000, gid: 1000, euid: 0, egid: 0, mntnsId: 9, pidnsId: 8, nsPid: 4242,
      argc: 1, retval: -2, filename: '/nope', args: ['nope'], argsTruncated: true, filenameTruncated: false, argsFault: false, argsTotalBytes: 0,
    },
    { ...base, type: 'exit', exitCode: 1, signal: null, coreDumped: false, status: 256, lifetimeNs: 1e9 },
  ];

  test('every record the enrichment stage builds stays inside the schema, types and events as declared', () => {
    const enricher = createProcessEnricher({ redaction: createRedactor(), seed: false, bootEpochMs: Date.parse('2026-11-24T15:00:00Z') });
    const byName = new Map(PROCESS_ATTRIBUTES.map((a) => [a.name, a]));
    const seen = new Set<string>();
    for (const e of events) {
      const r = enricher.record(e);
      const kind = r['event.name'].slice('process.'.length) as 'exec' | 'fork' | 'exit';
      for (const [k, v] of Object.entries(r)) {
        const a = byName.get(k.startsWith('k8s.pod.label.') ? 'k8s.pod.label.<key>' : k);
        assert.ok(a, `${r['event.name']}: ${k} is not in the schema`);
        assert.ok(a.events === 'all' || a.events.includes(kind), `${k} on ${kind}`);
        const t = a.type === 'int' ? 'number' : a.type === 'bool' ? 'boolean' : a.type === 'string' ? 'string' : 'object';
        assert.equal(typeof v, t, `${k}: ${JSON.stringify(v)}`);
        if (a.type === 'int') assert.ok(Number.isInteger(v), k);
        seen.add(k);
      }
    }
    assert.deepEqual(enricher.record(events[1]!)['process.command_args'], ['/bin/true', 'a1', '--password=***'], 'redacted before the record');
    for (const k of ['process.command_args', 'process.real_user.id', 'process.user.id', 'process.parent_pid', 'maxpro.ancestry', 'error.type', 'process.exit.code']) {
      assert.ok(seen.has(k), k);
    }
  });

  test('OTLP attributes: every field but time, the ancestry as a list of maps', () => {
    const enricher = createProcessEnricher({ redaction: createRedactor(), seed: false, bootEpochMs: 0 });
    enricher.record(events[0]!);
    const r = enricher.record(events[1]!);
    const attrs = processRecordAttributes(r);
    assert.ok(!('time' in attrs));
    assert.deepEqual(Object.keys(attrs), Object.keys(r).filter((k) => k !== 'time'));
    assert.deepEqual(attrs['maxpro.ancestry'], [{ pid: 1 }]);
  });
});
