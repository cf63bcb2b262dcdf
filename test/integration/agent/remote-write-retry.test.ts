// SPDX-License-Identifier: Apache-2.0
// Remote-write retries: 503 with Retry-After, then success; the request body is snappy-compressed protobuf.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import snappy from 'snappyjs';
import { createRemoteWriteExporter } from '../../../src/exporters/remote-write/remote-write-exporter.js';
import { decodeWriteRequest } from '../../../src/exporters/remote-write/remote-write-proto.js';
import type { RemoteWriteSeries } from '../../../src/exporters/remote-write/remote-write-proto.js';

describe('remote-write retries', () => {
  test('503 + Retry-After: 1, then 204: retried once after a second, every series delivered once', async () => {
    const seen: { at: number; status: number; headers: Record<string, string | string[] | undefined>; series?: RemoteWriteSeries[] }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const first = seen.length === 0;
        const entry: (typeof seen)[number] = { at: Date.now(), status: first ? 503 : 204, headers: req.headers };
        if (!first) entry.series = decodeWriteRequest(snappy.uncompress(new Uint8Array(Buffer.concat(chunks))));
        seen.push(entry);
        res.writeHead(entry.status, first ? { 'retry-after': '1' } : {}).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
    try {
      const rw = createRemoteWriteExporter({ url, flushIntervalMs: 20, externalLabels: { job: 'j' } });
      rw.addSnapshot([{ name: 'maxpro_x', type: 'counter', help: 'x', samples: [{ labels: { b: '2', a: '1' }, value: 7 }] }], 1_700_000_000_000);
      await rw.forceFlush();
      const s = rw.stats();
      assert.equal(s.retries, 1);
      assert.deepEqual(s.statuses, { 503: 1, 204: 1 });
      assert.equal(s.series.exported, 1);
      assert.equal(seen.length, 2);
      assert.ok(seen[1]!.at - seen[0]!.at >= 950, 'Retry-After honoured');
      assert.equal(seen[1]!.headers['content-encoding'], 'snappy');
      assert.equal(seen[1]!.headers['content-type'], 'application/x-protobuf');
      assert.equal(seen[1]!.headers['x-prometheus-remote-write-version'], '0.1.0');
      // Labels sorted, __name__ first, counter gets _total.
      assert.deepEqual(seen[1]!.series, [{
        labels: [{ name: '__name__', value: 'maxpro_x_total' }, { name: 'a', value: '1' }, { name: 'b', value: '2' }, { name: 'job', value: 'j' }],
        samples: [{ value: 7, timestamp: 1_700_000_000_000 }],
      }]);
      await rw.shutdown(500);
    } finally {
      server.close();
    }
  });
});
