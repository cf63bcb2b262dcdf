// SPDX-License-Identifier: Apache-2.0
/** `maxpro anomaly`: the streaming anomaly detector over files or a Prometheus query. */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { parseSeries } from '../../anomaly/series-reader.js';
import type { Series } from '../../anomaly/series-reader.js';
import { queryRange } from '../../anomaly/prometheus-source.js';
import { runSeries } from '../../anomaly/run-series.js';
import { parseRedSignals, readRedSeries } from '../../anomaly/red-source.js';
import { createQueryClient } from '../../collector/query-client.js';
import { seriesSvg, sparkline } from '../../anomaly/series-picture.js';
import type { AnomalyModel } from '../../anomaly/anomaly-detector.js';

const HELP = `USAGE: maxpro anomaly [FILE...] [--prometheus <url> --query <promql>]
                      [--red [--service <name>]... [--operation <name>] [--signal <list>] [--url <url>] [--token-file <file>]]
                      [--start <time>] [--end <time>] [--step <s>]
                      [--model stat|lstm|ensemble] [--learn-rows <n>] [--cooldown-rows <n>] [--alert-score <0..1>]
                      [--json] [--svg <path>]
       maxpro anomaly watch --help   (continuous mode over the collector's RED series)

Runs the causal streaming detector (each point once, in order) over each series and lists
its alerts: time, observed value, expected band, score, the member that fired (seasonal,
prediction, novelty, level_shift) and how long the baseline had been learning.
FILE is CSV (header "timestamp,value") or NDJSON ({"timestamp":..,"value":..}); an empty or
NaN value is a gap. With --prometheus, each series of the PromQL range query is one input.
--red reads the collector's RED series: per service and operation, rate, error_ratio, p50, p90
and p99 (ms) per step (--signal picks some, e.g. p99,error_ratio); a step without spans is a gap.
The collector is found as for \`maxpro traces search\` (--url, --token-file, $MAXPRO_COLLECTOR_URL).
--start/--end (epoch seconds or ISO; default the last hour) and --step (seconds, default 60)
apply to --prometheus and --red.
--model: stat (default; seasonal baseline, likelihood, novelty, level shift), lstm, ensemble.
--svg writes a picture of series, band and alerts (one file per series: name-N.svg for several).

EXAMPLES:
  maxpro anomaly latency.csv
  maxpro anomaly --prometheus http://localhost:9090 --query 'rate(http_requests_total[5m])' --step 60 --json
  maxpro anomaly --red --service checkout --signal p99,error_ratio --step 10 --learn-rows 120
`;

function time(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  const ms = Number.isFinite(n) ? (n < 1e11 ? n * 1000 : n) : Date.parse(raw);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`bad time "${raw}": give epoch seconds or an ISO time`);
  return ms;
}

function intOpt(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export const anomalyCommand: Command = {
  name: 'anomaly',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        prometheus: { type: 'string' },
        query: { type: 'string' },
        start: { type: 'string' },
        end: { type: 'string' },
        step: { type: 'string' },
        model: { type: 'string' },
        'learn-rows': { type: 'string' },
        'cooldown-rows': { type: 'string' },
        'alert-score': { type: 'string' },
        json: { type: 'boolean' },
        svg: { type: 'string' },
        red: { type: 'boolean' },
        service: { type: 'string', multiple: true },
        operation: { type: 'string' },
        signal: { type: 'string' },
        url: { type: 'string' },
        'token-file': { type: 'string' },
      },
    });
    const model = (values.model ?? 'stat') as AnomalyModel;
    if (!['stat', 'lstm', 'ensemble'].includes(model)) throw new InvalidArgumentError(`--model must be stat, lstm or ensemble, got "${model}"`);
    const series: Series[] = [];
    for (const f of positionals) series.push(parseSeries(readFileSync(f, 'utf8'), basename(f)));
    const end = time(values.end, Date.now());
    const start = time(values.start, end - 3_600_000);
    const stepS = Number(values.step ?? '60');
    if (!(stepS > 0)) throw new InvalidArgumentError(`--step must be a positive number of seconds, got "${values.step ?? ''}"`);
    if (values.prometheus !== undefined) {
      if (!values.query) throw new InvalidArgumentError('--prometheus needs --query <promql>');
      series.push(...(await queryRange({ url: values.prometheus, query: values.query, startMs: start, endMs: end, stepS })));
    }
    if (values.red) {
      const client = createQueryClient({ ...(values.url ? { url: values.url } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
      series.push(...(await readRedSeries(client, {
        startMs: start, endMs: end, stepMs: stepS * 1000,
        onTruncated: (service) => io.err.write(`maxpro anomaly: the collector's RED figures for ${service} cover only part of the window (its scan cap was reached); narrow --start/--end\n`),
        ...(values.service ? { services: values.service } : {}),
        ...(values.operation !== undefined ? { operation: values.operation } : {}),
        ...(values.signal !== undefined ? { signals: parseRedSignals(values.signal) } : {}),
      })));
    } else if (values.service || values.operation !== undefined || values.signal !== undefined) {
      throw new InvalidArgumentError('--service, --operation and --signal select RED series: add --red');
    }
    if (series.length === 0) throw new InvalidArgumentError(values.red ? 'the collector has no RED series for that selection and window' : 'give at least one FILE, --prometheus <url> --query <promql>, or --red');
    const learnRows = intOpt(values['learn-rows'], 'learn-rows');
    const cooldownRows = intOpt(values['cooldown-rows'], 'cooldown-rows');
    const alertScore = values['alert-score'] === undefined ? undefined : Number(values['alert-score']);
    const opts = { model, ...(learnRows !== undefined ? { learnRows } : {}), ...(cooldownRows !== undefined ? { cooldownRows } : {}), ...(alertScore !== undefined ? { alertScore } : {}) };
    const results = series.map((s) => ({ series: s.name, ...(s.labels ? { labels: s.labels } : {}), ...runSeries(s, opts) }));
    if (values.svg) {
      results.forEach((r, k) => writeFileSync(results.length === 1 ? values.svg! : values.svg!.replace(/(\.svg)?$/, `-${k + 1}.svg`), seriesSvg(r.scored)));
    }
    if (values.json) {
      io.out.write(`${JSON.stringify({ model, series: results.map((r) => ({ series: r.series, ...(r.labels ? { labels: r.labels } : {}), rows: r.rows, alerts: r.alerts.map((a) => ({ ...a, time: new Date(a.t).toISOString() })) })) }, null, 2)}\n`);
      return 0;
    }
    for (const r of results) {
      io.out.write(`${r.series}: ${r.rows} rows, ${r.alerts.length} alert(s), model ${model}\n${sparkline(r.scored)}\n`);
      if (r.alerts.length === 0) continue;
      io.out.write(`${'TIME'.padEnd(24)}  ${'VALUE'.padStart(12)}  ${'EXPECTED BAND'.padEnd(25)}  SCORE  MEMBER       LEARNED\n`);
      for (const a of r.alerts) {
        const band = `${a.band[0].toPrecision(5)} .. ${a.band[1].toPrecision(5)}`;
        io.out.write(`${new Date(a.t).toISOString().padEnd(24)}  ${a.value.toPrecision(6).padStart(12)}  ${band.padEnd(25)}  ${a.score.toFixed(2)}   ${a.member.padEnd(11)}  ${a.learnedRows} rows / ${(a.learnedMs / 3_600_000).toFixed(1)} h (${a.baseline})\n`);
      }
    }
    return 0;
  },
};
