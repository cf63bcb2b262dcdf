// SPDX-License-Identifier: Apache-2.0
/** `maxpro replay FILE`: play a capture back; `maxpro replay --diff A B`: compare two. */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../command.js';
import { loadCapture, type CaptureContents, type CaptureFilter } from '../../capture/capture-contents.js';
import { readCaptureBlocks } from '../../capture/capture-reader.js';
import { playCapture } from '../../capture/capture-playback.js';
import { createOperationStats } from '../../capture/operation-stats.js';
import { createSpansInto, type SpansIntoResult } from '../../capture/spans-into-collector.js';
import { diffCaptures } from '../../capture/capture-diff.js';
import type { StoredSpan } from '../../collector/span-store.js';
import { buildTraceTree } from '../../collector/trace-tree.js';
import { renderWaterfall } from '../../collector/waterfall.js';
import { parseDurationNs, parseTimeNs } from '../../collector/query-api.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { localCredential } from '../../lib/http/local-endpoints.js';
import { readPrivateTokenFile } from '../../lib/http/token-file.js';
import { WATERFALL_FLAGS, waterfallHint, waterfallView } from '../waterfall-flags.js';
import { eventLine, problemLine, replayTable, spanLine } from '../replay-output.js';
import { formatDiff } from '../replay-diff-output.js';

const HELP = `USAGE: maxpro replay <file> [flags]
       maxpro replay --diff <before> <after> [--json]

Plays a capture written by \`maxpro record\` back in the terminal, in time
order at the chosen speed: events at their time, spans when they ended. A
damaged block is reported (offset and reason) and skipped; a capture whose
recorder was killed plays to its last complete block. A summary of what was
played ends the output.

FLAGS:
  --speed <x|max>          capture seconds per second (default 1; max: no waiting)
  --service <name>         only spans of this service
  --pod <name|uid>         only events of this pod, and spans whose resource names it
  --since <time>, --until <time>
                           the window: +30s (from the capture's start), Unix ns or RFC 3339
  --view <lines|table|none>  one line per event and span (default), a live table of
                           operations and events, or only the summary
  --trace <id>             then draw this trace as a waterfall (repeatable)
  --slowest <n>            then draw the n slowest traces as waterfalls
  --fold <n>, --depth <n>, --errors-only, --critical-path
                           waterfall views, as for \`maxpro traces get\`
  --into <url>             load the spans into this collector over OTLP/HTTP as they play
  --token-file <file>      bearer token for --into (default $MAXPRO_COLLECTOR_TOKEN, else this node's)
  --width <n>, --no-color  output width and colour
  --max-records <n>        load at most n records (default 500000, about 1 GiB); the rest are counted
  --json                   print the summary (and --diff's report) as JSON
  --diff <before> <after>  compare two captures: services and operations added or gone,
                           latency and error changes, and the anomaly detector's verdicts

EXAMPLES:
  maxpro replay incident.mxcap --speed 10
  maxpro replay incident.mxcap --speed max --view table --service checkout
  maxpro replay incident.mxcap --speed max --view none --slowest 3 --fold 10
  maxpro replay incident.mxcap --speed max --into http://127.0.0.1:4318
  maxpro replay --diff before.mxcap after.mxcap
`;

/** A --since/--until value: `+30s`/`30s` from the capture's start, else an absolute time. */
function parseWindowTime(v: string, flag: string, startNs: () => bigint): bigint {
  const rel = /^\+?(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))$/.exec(v);
  if (rel) return startNs() + parseDurationNs(rel[1]!, flag);
  return parseTimeNs(v, flag);
}

function captureStartNs(file: string): bigint {
  for (const b of readCaptureBlocks(file)) {
    const start = (b.records[0] as { startedNs?: string } | undefined)?.startedNs;
    if (b.header.kind === 'meta' && start) return BigInt(start);
    break;
  }
  throw new InvalidArgumentError(`${file} has no readable meta block: give --since/--until as Unix ns or RFC 3339`);
}

function summaryOf(file: string, c: CaptureContents, played: { events: number; spans: number; interrupted: boolean }, into?: SpansIntoResult): Record<string, unknown> {
  const eventsByName: Record<string, number> = {};
  for (const e of c.events) eventsByName[e.name] = (eventsByName[e.name] ?? 0) + 1;
  return {
    file, events: played.events, eventsByName, spans: played.spans, traces: new Set(c.spans.map((s) => s.traceId)).size,
    services: [...new Set(c.spans.map((s) => s.service))].sort(), metrics: c.metrics.length,
    filtered: c.filtered, overLimit: c.overLimit, interrupted: played.interrupted,
    problems: c.problems, ...(c.stats ? { recorded: c.stats } : {}), ...(into ? { into } : {}),
  };
}

function formatSummary(s: Record<string, unknown>): string {
  const names = Object.entries(s.eventsByName as Record<string, number>).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ');
  const into = s.into as SpansIntoResult | undefined;
  return `replayed ${s.file}${s.interrupted ? ' (interrupted)' : ''}\n`
    + `  events  ${s.events}${names ? ` (${names})` : ''}\n`
    + `  spans   ${s.spans} in ${s.traces} traces, services: ${(s.services as string[]).join(', ') || 'none'}\n`
    + `  metrics ${s.metrics} scrapes\n`
    + `  skipped ${s.filtered} by the filters, ${s.overLimit} over the record limit, ${(s.problems as unknown[]).length} damaged block(s)\n`
    + (into ? `  into    ${into.sent} spans accepted, ${into.rejected} rejected${into.firstError ? ` (${into.firstError})` : ''}\n` : '');
}

/** Records loaded at most by default: spans take about 2 KiB each in memory. */
const DEFAULT_MAX_RECORDS = 500_000;

function reportLoad(file: string, c: CaptureContents, io: CommandIO): void {
  for (const p of c.problems) io.err.write(problemLine(file, p));
  if (c.overLimit) io.err.write(`maxpro: ${file}: ${c.overLimit} records past --max-records not loaded; narrow with --since/--until/--service/--pod\n`);
}

async function runDiff(files: string[], json: boolean, maxRecords: number, io: CommandIO): Promise<number> {
  if (files.length !== 2) throw new InvalidArgumentError('--diff takes two captures: maxpro replay --diff BEFORE AFTER');
  const [a, b] = files.map((f) => loadCapture(f, {}, maxRecords)) as [CaptureContents, CaptureContents];
  reportLoad(files[0]!, a, io);
  reportLoad(files[1]!, b, io);
  const diff = diffCaptures(a, b);
  io.out.write(json ? `${JSON.stringify(diff)}\n` : formatDiff(files[0]!, files[1]!, diff));
  return 0;
}

export const replayCommand: Command = {
  name: 'replay',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: {
        speed: { type: 'string' }, service: { type: 'string' }, pod: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
        view: { type: 'string' }, trace: { type: 'string', multiple: true }, slowest: { type: 'string' }, into: { type: 'string' },
        'token-file': { type: 'string' }, width: { type: 'string' }, 'no-color': { type: 'boolean' }, json: { type: 'boolean' }, diff: { type: 'boolean' },
        'max-records': { type: 'string' },
        ...WATERFALL_FLAGS,
      },
    });
    const maxRecords = values['max-records'] !== undefined ? Number(values['max-records']) : DEFAULT_MAX_RECORDS;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new InvalidArgumentError(`--max-records '${values['max-records']}' must be a positive integer`);
    if (values.diff) return runDiff(positionals, values.json === true, maxRecords, io);
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new InvalidArgumentError('give exactly one capture file: maxpro replay FILE');
    const speed = values.speed === undefined ? 1 : values.speed === 'max' ? Infinity : Number(values.speed);
    if (!(speed > 0)) throw new InvalidArgumentError(`--speed '${values.speed}' must be a positive number or max`);
    const viewMode = values.view ?? 'lines';
    if (!['lines', 'table', 'none'].includes(viewMode)) throw new InvalidArgumentError(`--view '${viewMode}' must be lines, table or none`);
    const slowest = values.slowest !== undefined ? Number(values.slowest) : 0;
    if (!Number.isInteger(slowest) || slowest < 0) throw new InvalidArgumentError(`--slowest '${values.slowest}' must be a non-negative integer`);
    for (const id of values.trace ?? []) if (!/^[0-9a-fA-F]{32}$/.test(id)) throw new InvalidArgumentError(`--trace '${id.slice(0, 40)}' must be 32 hex digits`);
    const wf = waterfallView(values);
    const out = io.out as NodeJS.WriteStream;
    const width = values.width ? Number(values.width) : out.columns ?? 120;
    const color = out.isTTY === true && !values['no-color'];
    let start: bigint | undefined;
    const startNs = (): bigint => (start ??= captureStartNs(file));
    const filter: CaptureFilter = {
      ...(values.service ? { service: values.service } : {}), ...(values.pod ? { pod: values.pod } : {}),
      ...(values.since ? { sinceNs: parseWindowTime(values.since, '--since', startNs) } : {}),
      ...(values.until ? { untilNs: parseWindowTime(values.until, '--until', startNs) } : {}),
    };
    const token = values['token-file'] ? readPrivateTokenFile(values['token-file']) : localCredential('collector').token;
    const into = values.into ? createSpansInto({ url: values.into, ...(token ? { token } : {}), signal: io.signal }) : undefined;

    const c = loadCapture(file, filter, maxRecords);
    reportLoad(file, c, io);
    const ops = createOperationStats();
    const events = new Map<string, { n: number; comms: Map<string, number> }>();
    let batch: StoredSpan[] = [];
    let lastFlush = performance.now();
    const flushInto = async (): Promise<void> => {
      lastFlush = performance.now();
      if (!into || batch.length === 0) return;
      const b = batch;
      batch = [];
      await into.send(b);
    };
    const table = (t?: bigint): void => {
      if (viewMode !== 'table') return;
      io.out.write(`${out.isTTY ? '\u001b[H\u001b[2J' : '\n'}${replayTable(t, ops.rows(), events)}`);
    };
    const played = await playCapture(c, {
      speed, signal: io.signal,
      onEvent: (e, t) => {
        const s = events.get(e.name) ?? { n: 0, comms: new Map<string, number>() };
        s.n++;
        if (s.comms.size < 1000 || s.comms.has(e.comm)) s.comms.set(e.comm, (s.comms.get(e.comm) ?? 0) + 1);
        events.set(e.name, s);
        if (viewMode === 'lines') io.out.write(`${eventLine(e, t, width)}\n`);
      },
      onSpan: async (s, t) => {
        ops.add(s);
        if (viewMode === 'lines') io.out.write(`${spanLine(s, t, width)}\n`);
        if (into) {
          batch.push(s);
          if (batch.length >= 500 || performance.now() - lastFlush >= 1000) await flushInto();
        }
      },
      onTick: (t) => { if (Number.isFinite(speed)) table(t); },
    });
    await flushInto();
    table();
    const traces = new Map<string, StoredSpan[]>();
    for (const s of c.spans) {
      const list = traces.get(s.traceId);
      if (list) list.push(s); else traces.set(s.traceId, [s]);
    }
    const draw = [...(values.trace ?? []).map((id) => id.toLowerCase())];
    if (slowest > 0) {
      const byDuration = [...traces].map(([id, spans]) => [id, buildTraceTree(id, spans).durationNs] as const).sort((x, y) => y[1] - x[1]);
      for (const [id] of byDuration.slice(0, slowest)) if (!draw.includes(id)) draw.push(id);
    }
    for (const id of draw) {
      const spans = traces.get(id);
      if (!spans) { io.err.write(`maxpro: trace ${id} is not in the replayed part of ${file}\n`); continue; }
      const tree = buildTraceTree(id, spans);
      io.out.write(`\n${waterfallHint(tree.spanCount, wf)}${renderWaterfall(tree, { width, color, ...wf })}\n`);
    }
    const summary = summaryOf(file, c, played, into?.result());
    io.out.write(values.json ? `${JSON.stringify(summary)}\n` : `\n${formatSummary(summary)}`);
    return 0;
  },
};
