// SPDX-License-Identifier: Apache-2.0
/**
 * `maxpro anomaly watch`: evaluates the collector's RED series every step,
 * serves `maxpro_anomaly_score{service,operation,signal}` on /metrics, and
 * sends each alert to stdout and, as an OTLP log record, to an OTLP/HTTP
 * endpoint (the collector by default, so alerts sit next to the spans).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { localCredential, localServiceUrl } from '../../lib/http/local-endpoints.js';
import { limitConnections } from '../../lib/http/connection-limits.js';
import { refuseTunnels } from '../../lib/http/refuse-tunnels.js';
import type { MetricFamily } from '../../lib/metric-family.js';
import { PROMETHEUS_CONTENT_TYPE, renderExposition } from '../../exporters/openmetrics/exposition.js';
import { createOtlpExporter } from '../../exporters/otlp/otlp-exporter.js';
import type { OtlpExporter } from '../../exporters/otlp/otlp-exporter.js';
import { createQueryClient } from '../../collector/query-client.js';
import { createRedWatch } from '../../anomaly/red-watch.js';
import type { RedAlert, RedWatch } from '../../anomaly/red-watch.js';
import { parseRedSignals } from '../../anomaly/red-source.js';
import type { AnomalyModel } from '../../anomaly/anomaly-detector.js';

const HELP = `USAGE: maxpro anomaly watch [--step <s>] [--delay <s>] [--history <s>]
                            [--service <name>]... [--operation <name>] [--signal <list>]
                            [--model stat|lstm|ensemble] [--learn-rows <n>] [--cooldown-rows <n>] [--alert-score <0..1>]
                            [--listen <host:port>] [--otlp-url <url>|none] [--url <url>] [--token-file <file>] [--json]

Every --step seconds (default 60), reads the step that closed --delay seconds ago (default 5,
so spans still in an exporter's batch are counted) from the collector's RED series (rate,
error_ratio, p50, p90, p99 per service and operation) and feeds one detector per series.
The first read goes --history seconds back (default learn-rows steps) so that detectors start
learned. Each alert is written to stdout (one line; NDJSON with --json) and sent as an OTLP log
record to --otlp-url (default the collector; 'none' turns it off). /metrics on --listen (default
127.0.0.1:9469; port 0 picks one, printed on stderr) serves maxpro_anomaly_score{service,
operation,signal}, alerts per series, and the watch's own counters.

EXAMPLES:
  maxpro anomaly watch --step 10 --learn-rows 360 --signal p99,error_ratio
  maxpro anomaly watch --service checkout --listen 0.0.0.0:9469 --json
`;

function num(raw: string | undefined, name: string, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`--${name} must be a number >= ${min}, got "${raw}"`);
  return n;
}

function families(w: RedWatch, exportDrops: () => number): MetricFamily[] {
  const scores = w.scores();
  const st = w.stats();
  const labels = (s: (typeof scores)[number]): Record<string, string> => ({ service: s.labels.service, operation: s.labels.operation, signal: s.labels.signal });
  return [
    { name: 'maxpro_anomaly_score', type: 'gauge', help: 'Latest anomaly score in [0, 1] of a RED series (alerting at the alert score).', samples: scores.map((s) => ({ labels: labels(s), value: s.score })) },
    { name: 'maxpro_anomaly_alerts', type: 'counter', help: 'Alerts raised on a RED series.', samples: scores.map((s) => ({ labels: labels(s), value: s.alerts })) },
    { name: 'maxpro_anomaly_steps', type: 'counter', help: 'Steps evaluated.', samples: [{ labels: {}, value: st.steps }] },
    { name: 'maxpro_anomaly_series', type: 'gauge', help: 'RED series with a detector.', samples: [{ labels: {}, value: st.series }] },
    { name: 'maxpro_anomaly_dropped', type: 'counter', help: 'What was not evaluated or not sent, by reason.', samples: [
      { labels: { reason: 'series_cap' }, value: st.droppedSeries },
      { labels: { reason: 'query_error' }, value: st.queryErrors },
      { labels: { reason: 'truncated_read' }, value: st.truncatedReads },
      { labels: { reason: 'otlp_export' }, value: exportDrops() },
    ] },
  ];
}

export function alertLine(a: RedAlert): string {
  const p = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(6)).toString() : String(x));
  return `ALERT ${new Date(a.t).toISOString()} service=${JSON.stringify(a.labels.service)} operation=${JSON.stringify(a.labels.operation)} signal=${a.labels.signal} `
    + `observed=${p(a.value)} expected=${p(a.expected)} band=[${p(a.band[0])},${p(a.band[1])}] score=${a.score.toFixed(3)} member=${a.member} `
    + `baseline=${a.baseline} learned=${a.learnedRows}rows/${(a.learnedMs / 1000).toFixed(0)}s`;
}

function alertEvent(a: RedAlert): { name: string; timeMs: number; attributes: Record<string, string | number> } {
  return {
    name: 'maxpro.anomaly.alert',
    timeMs: a.t,
    attributes: {
      'anomaly.service': a.labels.service, 'anomaly.operation': a.labels.operation, 'anomaly.signal': a.labels.signal,
      'anomaly.observed': a.value, 'anomaly.expected': a.expected, 'anomaly.band.low': a.band[0], 'anomaly.band.high': a.band[1],
      'anomaly.score': a.score, 'anomaly.member': a.member, 'anomaly.baseline': a.baseline,
      'anomaly.learned_rows': a.learnedRows, 'anomaly.learned_ms': a.learnedMs,
    },
  };
}

export const anomalyWatchCommand: Command = {
  name: 'anomaly watch',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        step: { type: 'string' }, delay: { type: 'string' }, history: { type: 'string' },
        service: { type: 'string', multiple: true }, operation: { type: 'string' }, signal: { type: 'string' },
        model: { type: 'string' }, 'learn-rows': { type: 'string' }, 'cooldown-rows': { type: 'string' }, 'alert-score': { type: 'string' },
        listen: { type: 'string' }, 'otlp-url': { type: 'string' }, url: { type: 'string' }, 'token-file': { type: 'string' },
        'max-series': { type: 'string' }, json: { type: 'boolean' },
      },
    });
    const model = (values.model ?? 'stat') as AnomalyModel;
    if (!['stat', 'lstm', 'ensemble'].includes(model)) throw new InvalidArgumentError(`--model must be stat, lstm or ensemble, got "${model}"`);
    const stepMs = Math.round(num(values.step, 'step', 60, 0.001) * 1000);
    if (stepMs < 1) throw new InvalidArgumentError('--step must be at least 1 ms');
    const learnRows = Math.round(num(values['learn-rows'], 'learn-rows', 750, 1));
    const detector = {
      model, learnRows,
      ...(values['cooldown-rows'] !== undefined ? { cooldownRows: Math.round(num(values['cooldown-rows'], 'cooldown-rows', 0)) } : {}),
      ...(values['alert-score'] !== undefined ? { alertScore: num(values['alert-score'], 'alert-score', 0.5) } : {}),
    };
    const listen = values.listen ?? '127.0.0.1:9469';
    const colon = listen.lastIndexOf(':');
    const host = colon > 0 ? listen.slice(0, colon).replace(/^\[|\]$/g, '') : '127.0.0.1';
    const port = Number(colon >= 0 ? listen.slice(colon + 1) : listen);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--listen must be host:port, got "${listen}"`);

    const collectorUrl = (values.url ?? localServiceUrl('collector')).replace(/\/+$/, '');
    const client = createQueryClient({ url: collectorUrl, ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
    const delayMs = Math.round(num(values.delay, 'delay', 5) * 1000);
    const watch = createRedWatch({
      client, stepMs, detector, delayMs,
      historyMs: Math.round(num(values.history, 'history', (learnRows * stepMs) / 1000) * 1000),
      maxSeries: Math.round(num(values['max-series'], 'max-series', 1000, 1)),
      ...(values.service ? { services: values.service } : {}),
      ...(values.operation !== undefined ? { operation: values.operation } : {}),
      ...(values.signal !== undefined ? { signals: parseRedSignals(values.signal) } : {}),
    });

    let exporter: OtlpExporter | undefined;
    const otlpUrl = values['otlp-url'] ?? collectorUrl;
    if (otlpUrl !== 'none') {
      const base = otlpUrl.replace(/\/+$/, '').replace(/\/v1\/logs$/, '');
      const token = localCredential('collector', values['token-file'] ? { tokenFile: values['token-file'] } : {}).token;
      exporter = createOtlpExporter({
        logsUrl: `${base}/v1/logs`, metricsUrl: `${base}/v1/metrics`, protocol: 'http/json', flushIntervalMs: 1000,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        resource: { 'service.name': 'maxpro-anomaly' },
        onError: (err) => io.err.write(`anomaly watch: OTLP export: ${(err as Error).message}\n`),
      });
    }
    const exportDrops = (): number => {
      const dropped: Record<string, number> = exporter?.stats().logs.dropped ?? {};
      return Object.values(dropped).reduce((a, b) => a + b, 0);
    };

    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(req.method === 'GET' ? 404 : 405, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(renderExposition(families(watch, exportDrops), 'prometheus'));
    });
    limitConnections(server, { maxConnections: 64, maxPerClient: 16, count: () => undefined });
    refuseTunnels(server, () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    io.err.write(`anomaly watch: ${collectorUrl} every ${stepMs / 1000}s; metrics on http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/metrics\n`);

    const once = async (): Promise<void> => {
      let alerts: RedAlert[] = [];
      try {
        alerts = await watch.tick(Date.now());
      } catch (err) {
        io.err.write(`anomaly watch: ${(err as Error).message}\n`);
      }
      for (const a of alerts) {
        io.out.write(`${values.json ? JSON.stringify({ ...a, time: new Date(a.t).toISOString() }) : alertLine(a)}\n`);
        exporter?.addEvent(alertEvent(a));
      }
      if (alerts.length && exporter) await exporter.forceFlush().catch(() => undefined);
    };
    try {
      while (!io.signal.aborted) {
        await once();
        // Wake just after the next step closes.
        const wait = stepMs - ((((Date.now() - delayMs) % stepMs) + stepMs) % stepMs) + 10;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          io.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
        });
      }
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await exporter?.shutdown(2000);
    }
    return 0;
  },
};
