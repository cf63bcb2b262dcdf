// SPDX-License-Identifier: Apache-2.0
// The OTLP exporter against a local receiver that fails (503) and recovers, and a queue overflow.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOtlpExporter } from '../../../src/exporters/otlp/otlp-exporter.js';
import { decodeExportRequest } from '../../../src/lib/otlp/otlp-codec.js';

type Attr = { key: string; value: Record<string, unknown> };
interface Received { at: number; records: number; scopeAttrs: Record<string, number>; names: string[] }

interface Receiver {
  url: string;
  /** Answers to give, in order, before answering 200 (e.g. [503, 503]). */
  failures: number[];
  /** While set, requests wait for it. */
  hold: Promise<void> | undefined;
  requests: { at: number; status: number }[];
  logs: Received[];
  metrics: number;
  metricScopes: Record<string, number>[];
  close(): Promise<void>;
}

function attrValue(v: Record<string, unknown>): number {
  return Number(v.intValue ?? v.doubleValue ?? NaN);
}

async function startReceiver(): Promise<Receiver> {
  const rx: Receiver = { url: '', failures: [], hold: undefined, requests: [], logs: [], metrics: 0, metricScopes: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (rx.hold) await rx.hold;
        const at = Date.now();
        const fail = rx.failures.shift();
        if (fail) {
          rx.requests.push({ at, status: fail });
          res.writeHead(fail, { 'retry-after': '1', 'content-type': 'text/plain' }).end('try later');
          return;
        }
        rx.requests.push({ at, status: 200 });
        const json = (req.headers['content-type'] ?? '').includes('json');
        const body = new Uint8Array(Buffer.concat(chunks));
        if (req.url === '/v1/logs') {
          const msg = decodeExportRequest('logs', body, json ? 'json' : 'protobuf') as { resourceLogs: { scopeLogs: { scope?: { attributes?: Attr[] }; logRecords: { body?: { stringValue?: string } }[] }[] }[] };
          for (const rl of msg.resourceLogs) {
            for (const sl of rl.scopeLogs) {
              rx.logs.push({
                at, records: sl.logRecords.length,
                scopeAttrs: Object.fromEntries((sl.scope?.attributes ?? []).map((a) => [a.key, attrValue(a.value)])),
                names: sl.logRecords.map((r) => r.body?.stringValue ?? ''),
              });
            }
          }
        } else if (req.url === '/v1/metrics') {
          rx.metrics++;
          const msg = decodeExportRequest('metrics', body, json ? 'json' : 'protobuf') as { resourceMetrics: { scopeMetrics: { scope?: { attributes?: Attr[] } }[] }[] };
          for (const rm of msg.resourceMetrics) {
            for (const sm of rm.scopeMetrics) rx.metricScopes.push(Object.fromEntries((sm.scope?.attributes ?? []).map((a) => [a.key, attrValue(a.value)])));
          }
        }
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rx.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rx.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return rx;
}

const ev = (i: number) => ({ name: `tcp.connect`, timeMs: Date.now(), attributes: { i, 'process.command_line': 'curl --password=***' } });

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`OTLP exporter (${protocol})`, () => {
    let rx: Receiver;
    before(async () => { rx = await startReceiver(); });
    after(async () => { await rx.close(); });

    test('503 twice, then recovery: every accepted event arrives, Retry-After is honoured, retries are counted', async () => {
      rx.failures = [503, 503];
      rx.requests = [];
      rx.logs = [];
      let lost = { tcp: 7, process: 0 };
      const exp = createOtlpExporter({
        logsUrl: `${rx.url}/v1/logs`, metricsUrl: `${rx.url}/v1/metrics`, protocol, flushIntervalMs: 50, batchSize: 100, timeoutMs: 15_000,
        lostEvents: () => lost,
      });
      for (let i = 0; i < 50; i++) assert.equal(exp.addEvent(ev(i)), true);
      await exp.forceFlush();
      const s = exp.stats();
      assert.equal(s.logs.exported, 50);
      assert.deepEqual(s.logs.dropped, { queue_full: 0, export_failed: 0, shutdown: 0 });
      assert.equal(s.retryableResponses, 2);
      assert.equal(s.attempts, 3);
      assert.deepEqual(rx.requests.map((r) => r.status), [503, 503, 200]);
      // Retry-After: 1 s between attempts (the SDK's own backoff would be shorter on the first retry).
      assert.ok(rx.requests[1]!.at - rx.requests[0]!.at >= 950, JSON.stringify(rx.requests));
      assert.ok(rx.requests[2]!.at - rx.requests[1]!.at >= 950, JSON.stringify(rx.requests));
      assert.equal(rx.logs.reduce((n, l) => n + l.records, 0), 50);
      // Loss since the previous batch rides along as scope attributes.
      assert.equal(rx.logs[0]!.scopeAttrs['maxpro.probe.tcp.lost_events'], 7);
      assert.equal(rx.logs[0]!.scopeAttrs['maxpro.probe.process.lost_events'], 0);
      lost = { tcp: 10, process: 2 };
      exp.addEvent(ev(99));
      await exp.forceFlush();
      const last = rx.logs[rx.logs.length - 1]!;
      assert.equal(last.scopeAttrs['maxpro.probe.tcp.lost_events'], 3);
      assert.equal(last.scopeAttrs['maxpro.probe.process.lost_events'], 2);
      assert.equal(last.scopeAttrs['maxpro.exporter.dropped_events'], 0);
      // Metrics go out too.
      assert.equal(exp.addMetrics([{ name: 'maxpro_x', type: 'counter', help: 'x', samples: [{ labels: { a: 'b' }, value: 3 }] },
        { name: 'maxpro_h', type: 'histogram', help: 'h', samples: [{ labels: {}, buckets: [{ le: 1, count: 1 }, { le: Infinity, count: 2 }], sum: 3, count: 2 }] }]), true);
      await exp.forceFlush();
      assert.equal(rx.metrics, 1);
      assert.deepEqual(rx.metricScopes, [{ 'maxpro.probe.tcp.lost_events': 10, 'maxpro.probe.process.lost_events': 2 }]);
      assert.equal(exp.stats().metrics.exported, 1);
      await exp.shutdown(1000);
    });

    test('queue overflow: drops are counted exactly and reported to the receiver; nothing accepted is lost', async () => {
      rx.failures = [];
      rx.requests = [];
      rx.logs = [];
      let release!: () => void;
      rx.hold = new Promise<void>((r) => { release = r; });
      const exp = createOtlpExporter({ logsUrl: `${rx.url}/v1/logs`, metricsUrl: `${rx.url}/v1/metrics`, protocol, queueSize: 100, batchSize: 10, flushIntervalMs: 20 });
      let accepted = 0;
      for (let i = 0; i < 1000; i++) if (exp.addEvent(ev(i))) accepted++;
      // One batch of 10 left for the held receiver; 100 wait in the queue.
      assert.equal(accepted, 110);
      assert.equal(exp.stats().logs.dropped.queue_full, 890);
      rx.hold = undefined;
      release();
      await exp.forceFlush();
      const received = rx.logs.reduce((n, l) => n + l.records, 0);
      assert.equal(received, accepted);
      assert.equal(exp.stats().logs.exported, accepted);
      // The first batch was built before the overflow; the drops ride on a later one, exactly once.
      const reported = rx.logs.reduce((n, l) => n + (l.scopeAttrs['maxpro.exporter.dropped_events'] ?? 0), 0);
      assert.equal(reported, 890);
      await exp.shutdown(1000);
    });
  });
}
