// SPDX-License-Identifier: Apache-2.0
// The JSON form of TCP aggregates (GET /tcp/aggregates): a lossless round trip through JSON text,
// and malformed bodies refused with a message saying what is wrong and where.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HIST_BUCKETS, createLogLinearHistogram, recordValue } from '../../../src/lib/histogram/index.js';
import { TCP_AGG_COUNTERS } from '../../../src/probes/tcp/tcp-aggregates.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import {
  TCP_AGGREGATES_JSON_VERSION, decodeTcpAggregates, encodeTcpAggregates,
} from '../../../src/probes/tcp/tcp-aggregates-json.js';
import type { TcpAggregatesSnapshot } from '../../../src/probes/tcp/tcp-aggregates-json.js';
import { MaxproError } from '../../../src/lib/errors.js';

function aggregate(cgroupId: bigint, dir: 'client' | 'server', seed: number): TcpAggregate {
  const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((c, i) => [c, (seed * 7 + i) % 5 === 0 ? 0 : seed * 1000 + i])) as TcpAggregate['counters'];
  counters.bytesAcked = 2 ** 60; // beyond 2^53: kept as the reader summed it
  const handshake = createLogLinearHistogram();
  for (let i = 0; i < 50; i++) recordValue(handshake, 1000 + i * i * 9973 * seed);
  const rtt = createLogLinearHistogram();
  recordValue(rtt, 0, 3); // bucket 0
  recordValue(rtt, 2 ** 50, 2); // the overflow bucket
  return { cgroupId, dir, portClass: seed % 4, counters, handshake, rtt, lifetime: createLogLinearHistogram() };
}

const snapshot: TcpAggregatesSnapshot = {
  time: '2025-01-02T03:04:05.678Z', lost: 12, truncated: false,
  aggregates: [
    { aggregate: aggregate(1n, 'client', 1), workload: { container: 'abcdef012345', pod: 'c0ffee-uid', namespace: 'prod', cgroupPath: '/kubepods/x' } },
    { aggregate: aggregate((1n << 64n) - 1n, 'server', 2), workload: { container: '', pod: '', namespace: '', cgroupPath: '' } },
  ],
};

type Obj = Record<string | number, unknown>;

/** A valid body as parsed JSON. */
const valid = (): Obj => JSON.parse(JSON.stringify(encodeTcpAggregates(snapshot))) as Obj;

const REMOVE = Symbol('remove');

/** A valid body with the value at `path` replaced (or removed). */
function broken(path: readonly (string | number)[], value: unknown): Obj {
  const b = valid();
  let o = b;
  for (const k of path.slice(0, -1)) o = o[k] as Obj;
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete o[last];
  else o[last] = value;
  return b;
}

const at = (b: Obj, ...path: (string | number)[]): unknown => path.reduce<unknown>((o, k) => (o as Obj)[k], b);

describe('tcp aggregates JSON', () => {
  test('round trip through JSON text is lossless', () => {
    const text = JSON.stringify(encodeTcpAggregates(snapshot));
    const back = decodeTcpAggregates(JSON.parse(text));
    assert.deepEqual(back, snapshot);
    assert.equal(back.aggregates[1]!.aggregate.cgroupId, (1n << 64n) - 1n, 'a u64 cgroup id survives');
    assert.equal(back.aggregates[0]!.aggregate.counters.bytesAcked, 2 ** 60);
    assert.equal(back.aggregates[0]!.aggregate.rtt.counts[HIST_BUCKETS - 1], 2);
  });

  test('histograms are sparse: only non-zero buckets are sent', () => {
    const body = valid();
    assert.equal(body.version, TCP_AGGREGATES_JSON_VERSION);
    assert.equal(typeof at(body, 'aggregates', 0, 'cgroupId'), 'string');
    assert.deepEqual(at(body, 'aggregates', 0, 'rtt', 'buckets'), { 0: 3, [HIST_BUCKETS - 1]: 2 });
    assert.deepEqual(at(body, 'aggregates', 0, 'lifetime'), { buckets: {}, sum: 0, count: 0 });
  });

  const A = 'aggregates';
  const cases: { name: string; body(): unknown; error: RegExp }[] = [
    { name: 'not an object', body: () => [], error: /^tcp aggregates JSON: body: \[\] is not an object$/ },
    { name: 'other version', body: () => broken(['version'], 2), error: /body\.version: 2 is not 1/ },
    { name: 'aggregates not an array', body: () => broken([A], {}), error: /body\.aggregates: \{\} is not an array/ },
    { name: 'missing lost', body: () => broken(['lost'], REMOVE), error: /body\.lost: missing is not an integer count >= 0/ },
    { name: 'truncated not a boolean', body: () => broken(['truncated'], 'no'), error: /body\.truncated: "no" is not a boolean/ },
    { name: 'numeric cgroup id', body: () => broken([A, 1, 'cgroupId'], 5), error: /body\.aggregates\[1\]\.cgroupId: 5 is not a string/ },
    { name: 'cgroup id above u64', body: () => broken([A, 0, 'cgroupId'], '18446744073709551616'), error: /aggregates\[0\]\.cgroupId: "18446744073709551616" is not a decimal u64/ },
    { name: 'cgroup id not decimal', body: () => broken([A, 0, 'cgroupId'], '0x10'), error: /aggregates\[0\]\.cgroupId: "0x10" is not a decimal u64/ },
    { name: 'bad direction', body: () => broken([A, 0, 'dir'], 'both'), error: /aggregates\[0\]\.dir: "both" is not "client" or "server"/ },
    { name: 'negative port class', body: () => broken([A, 0, 'portClass'], -1), error: /aggregates\[0\]\.portClass: -1 is not an integer count/ },
    { name: 'missing workload field', body: () => broken([A, 0, 'workload', 'pod'], REMOVE), error: /aggregates\[0\]\.workload\.pod: missing is not a string/ },
    { name: 'missing counter', body: () => broken([A, 1, 'counters', 'retransmits'], REMOVE), error: /aggregates\[1\]\.counters\.retransmits: missing/ },
    { name: 'fractional counter', body: () => broken([A, 0, 'counters', 'opens'], 1.5), error: /aggregates\[0\]\.counters\.opens: 1\.5 is not an integer count/ },
    { name: 'missing histogram', body: () => broken([A, 0, 'rtt'], REMOVE), error: /aggregates\[0\]\.rtt: missing is not an object/ },
    { name: 'bucket index out of range', body: () => broken([A, 0, 'rtt', 'buckets', String(HIST_BUCKETS)], 1), error: new RegExp(`aggregates\\[0\\]\\.rtt\\.buckets: bucket index "${HIST_BUCKETS}" is not in 0\\.\\.${HIST_BUCKETS - 1}`) },
    { name: 'bucket index not an integer', body: () => broken([A, 0, 'rtt', 'buckets', '01'], 1), error: /rtt\.buckets: bucket index "01" is not in/ },
    { name: 'negative bucket count', body: () => broken([A, 0, 'handshake', 'buckets', '1'], -3), error: /aggregates\[0\]\.handshake\.buckets\["1"\]: -3 is not an integer count/ },
    { name: 'count disagrees with the buckets', body: () => broken([A, 0, 'rtt', 'count'], 6), error: /aggregates\[0\]\.rtt\.count: 6 is not the sum of the bucket counts \(5\)/ },
    { name: 'sum not a number', body: () => broken([A, 1, 'lifetime', 'sum'], null), error: /aggregates\[1\]\.lifetime\.sum: null is not a number >= 0/ },
  ];
  for (const c of cases) {
    test(`refuses: ${c.name}`, () => {
      assert.throws(() => decodeTcpAggregates(c.body()), (err: unknown) => {
        assert.ok(err instanceof MaxproError);
        assert.equal(err.code, 'MAXPRO_ERR_INVALID_ARGUMENT');
        assert.match(err.message, c.error);
        return true;
      });
    });
  }

  test('long values are shortened in messages', () => {
    assert.throws(() => decodeTcpAggregates(broken([A, 0, 'dir'], 'x'.repeat(500))), (err: Error) => err.message.length < 150 && /\.\.\. is not "client"/.test(err.message));
  });
});
