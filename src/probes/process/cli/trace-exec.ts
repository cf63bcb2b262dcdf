// SPDX-License-Identifier: Apache-2.0
/** `maxpro trace exec`: a live table (or JSON lines) of every exec on the node. */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../../../cli/command.js';
import { InvalidArgumentError } from '../../../lib/errors.js';
import { matchesWorkload } from '../../../lib/workload-match.js';
import { createRedactor } from '../../../enrich/redaction.js';
import type { LiveStreamEvent } from '../../../agent/http/live-stream-client.js';
import { createProcessPipeline } from '../process-pipeline.js';
import type { ProcessPipelineStats } from '../process-pipeline.js';
import type { ProcessRecord } from '../process-schema.js';
import { createTable } from '../../../cli/output/table.js';
import { formatJsonLine } from '../../../cli/output/json-lines.js';
import { formatAgentLoss, openAgentStream, waitForStop } from '../../../cli/agent-stream.js';
import { createBoundedOutput } from '../../../cli/output/bounded-output.js';
import {
  EVENT_SOURCE_HELP, EVENT_SOURCE_OPTIONS, WORKLOAD_FILTER_OPTIONS, helpLine, parseEventSource, parseWorkloadFilters, workloadFilterHelp,
} from '../../../cli/workload-filter-flags.js';
import type { WorkloadFilters } from '../../../cli/workload-filter-flags.js';

const HELP = `USAGE: maxpro trace exec [flags]

Shows every exec on this node as it happens, successful or failed, with its
full argv (secrets redacted), parent, user, return value, and the container
or pod it runs in. Ctrl-C stops and prints a summary, lost events included.

When an agent runs on the node (\`maxpro agent\`, \`maxpro up\`), the command
attaches to its live stream and shows every exec the agent sees, whatever
its export policy keeps; otherwise it loads the probe itself. A line on
stderr says which. Both ways print the same records (the agent runs the
same enrichment); attached, --pod matches the pod UID, and the ancestry
depth and probe settings (--ancestry-depth, --max-args, --max-arg-bytes,
--kubeconfig) are the agent's.

FLAGS:
${workloadFilterHelp('execs', ['comm', 'pid', 'container', 'pod', 'namespace', 'failed'], {
  comm: 'only execs whose comm or executable name is NAME',
  pid: 'only execs by PID or whose parent is PID',
})}
${helpLine('--uid UID', 'only this real user (filtered in the kernel when local)')}
${EVENT_SOURCE_HELP}
  --json               one JSON event per line (OpenTelemetry attribute names)
  --ancestry           show the parent chain of each exec
  --ancestry-depth N   parents to resolve (default 8)
  --max-args N         arguments kept per exec (default 128, at most 1024)
  --max-arg-bytes N    argument bytes kept per exec (default 4096, at most 32768)
  --redact REGEX       an extra redaction rule (RE2 syntax, repeatable); group 1 is kept
  --kubeconfig PATH    pod metadata from this cluster (default: in-cluster account)
  --duration SEC       stop after SEC seconds
  -v, --verbose        print the verifier log when loading fails

EXAMPLES:
  maxpro trace exec                         # every exec, live table
  maxpro trace exec --failed                # only failed execs, with errno
  maxpro trace exec --namespace prod --ancestry --local
  maxpro trace exec --agent http://10.0.0.7:9464 --comm curl
  maxpro trace exec --json | jq 'select(."k8s.pod.name" != null)'
`;

/**
 * An exec as the table, the filters and --json see it. Loaded locally it is
 * a full ProcessRecord; from an agent, what the agent streams.
 */
export type ExecRecord = Omit<ProcessRecord, 'maxpro.boot_ns'> & { 'maxpro.boot_ns'?: number };

/** Whether an exec record passes the command-line filters. */
export function matchesExecFilters(r: ExecRecord, f: WorkloadFilters & { uid?: number }): boolean {
  if (r['event.name'] !== 'process.exec') return false;
  if (f.uid !== undefined && r['process.real_user.id'] !== f.uid) return false;
  if (f.failed && (r['maxpro.exec.retval'] ?? 0) >= 0) return false;
  if (f.comm !== undefined && r['maxpro.comm'] !== f.comm && r['process.executable.name'] !== f.comm) return false;
  if (f.pid !== undefined && r['process.pid'] !== f.pid && r['process.parent_pid'] !== f.pid) return false;
  return matchesWorkload(r['container.id'], r['k8s.pod.name'], r['k8s.namespace.name'], f, r['k8s.pod.uid']);
}

const TABLE = createTable({
  columns: [
    { header: 'TIME', width: 12 },
    { header: 'PID', width: 7, align: 'right' },
    { header: 'PPID', width: 7, align: 'right' },
    { header: 'UID', width: 6, align: 'right' },
    { header: 'RET', width: 7 },
    { header: 'CONTAINER/POD', width: 28, truncate: 'start' },
    { header: 'ARGS', width: 0 },
  ],
});

function where(r: ExecRecord): string {
  if (r['k8s.pod.name']) return `${r['k8s.namespace.name'] ?? ''}/${r['k8s.pod.name']}`;
  if (r['container.id']) return `${r['container.runtime'] ?? ''}:${r['container.id'].slice(0, 12)}`;
  if (r['k8s.pod.uid']) return `pod:${r['k8s.pod.uid']}`;
  return '-';
}

/** The table row of one exec record. */
export function formatExecRow(r: ExecRecord): string {
  const ret = r['maxpro.exec.retval'] ?? 0;
  const argv = r['process.command_args'] ?? [];
  let args = argv.join(' ') + (r['maxpro.args.truncated'] ? ' […]' : '');
  // A failed exec's path is what failed; a PATH search tries several for one argv.
  const path = r['process.executable.path'];
  if (ret < 0 && path && path !== argv[0]) args = `[${path}] ${args}`;
  return TABLE.row([
    r.time.slice(11, 23), r['process.pid'], r['process.parent_pid'], r['process.real_user.id'],
    ret === 0 ? '0' : (r['error.type'] ?? String(ret)), where(r), args || r['process.executable.path'],
  ]);
}

/** The ancestry line printed under a row with --ancestry. */
export function formatAncestry(r: ExecRecord): string {
  const chain = (r['maxpro.ancestry'] ?? []).map((a) => `${a.comm ?? '?'}(${a.pid})`);
  return `    ↳ ${chain.length ? chain.join(' ← ') : '(no known parent)'}`;
}

/** The Ctrl-C summary; `stdoutDropped`: rows not written because stdout was not read fast enough. */
export function formatSummary(shown: number, failed: number, filtered: number, s: ProcessPipelineStats, stdoutDropped = 0): string {
  const l = s.probe.lost;
  const k = l.kernel;
  return `\n${shown} execs shown (${failed} failed), ${filtered} filtered out; events: ${s.probe.events.exec} exec, ${s.probe.events.fork} fork, ${s.probe.events.exit} exit\n` +
    `lost: ${l.total + stdoutDropped} (ringbuf_full ${k.ringbuf_full}, output_failed ${k.output_failed}, helper_failed ${k.helper_failed}, ` +
    `map_full ${k.map_full}, bpf_recursion ${k.bpf_recursion}, reader ${l.reader}, decode ${l.decode}, stdout ${stdoutDropped})\n`;
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--${name}: ${v} is not a non-negative integer`);
  return n;
}

/**
 * An exec event of the agent's live stream as the table and --json show it:
 * the record the agent's enrichment stage built, the same one a local probe
 * gives. Undefined for an agent that sends no record.
 */
export function execRecordOf(e: LiveStreamEvent): ExecRecord | undefined {
  const r = e.record as ExecRecord | undefined;
  if (!r || r['event.name'] !== 'process.exec') return undefined;
  // Workload labels from the agent's `workloads` config (a local probe has none), named as its OTLP export names them.
  for (const [k, v] of Object.entries(e.labels)) (r as unknown as Record<string, string>)[`maxpro.label.${k}`] = v;
  return r;
}

/** Flags that configure a locally loaded probe and mean nothing for an agent's events. */
const LOCAL_ONLY = ['ancestry-depth', 'max-args', 'max-arg-bytes', 'kubeconfig'] as const;

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...WORKLOAD_FILTER_OPTIONS, ...EVENT_SOURCE_OPTIONS,
      'uid': { type: 'string' }, 'json': { type: 'boolean' },
      'ancestry': { type: 'boolean' }, 'ancestry-depth': { type: 'string' }, 'max-args': { type: 'string' },
      'max-arg-bytes': { type: 'string' }, 'redact': { type: 'string', multiple: true }, 'kubeconfig': { type: 'string' },
      'duration': { type: 'string' }, 'verbose': { type: 'boolean', short: 'v' },
    },
  });
  const filters = parseWorkloadFilters(values);
  const source = parseEventSource(values);
  const duration = intFlag('duration', values.duration);
  const json = values.json ?? false;
  const ancestry = values.ancestry ?? false;
  const uid = intFlag('uid', values.uid);
  const maxArgs = intFlag('max-args', values['max-args']);
  const maxArgBytes = intFlag('max-arg-bytes', values['max-arg-bytes']);
  const depth = intFlag('ancestry-depth', values['ancestry-depth']) ?? 8;
  let shown = 0;
  let failed = 0;
  let filtered = 0;
  let noRecord = 0;
  const format = (r: ExecRecord, withAncestry: boolean): string => {
    if (!matchesExecFilters(r, { ...filters, ...(uid !== undefined ? { uid } : {}) })) {
      filtered++;
      return '';
    }
    shown++;
    if ((r['maxpro.exec.retval'] ?? 0) < 0) failed++;
    if (json) return formatJsonLine(r);
    return `${formatExecRow(r)}\n${withAncestry ? `${formatAncestry(r)}\n` : ''}`;
  };

  if (!json) io.out.write(`${TABLE.header()}\n`);
  // Rows past what an unread stdout already buffers are dropped and counted, not held.
  const out = createBoundedOutput(io.out);

  // The agent's events, when one answers.
  const extra = values.redact?.length ? createRedactor({ extraPatterns: values.redact }) : undefined;
  let pending = '';
  let pendingRows = 0;
  const flush = (): void => {
    if (pendingRows) out.write(pending, pendingRows);
    pending = '';
    pendingRows = 0;
  };
  const agent = await openAgentStream({
    source, err: io.err, signal: io.signal,
    filter: { probe: 'process', name: 'process.exec', ...filters },
    onEvent: (e) => {
      const r = execRecordOf(e);
      if (!r) {
        noRecord++;
        return;
      }
      if (extra) r['process.command_args'] = extra.redactArgs(r['process.command_args'] ?? []);
      const row = format(r, ancestry);
      if (!row) return;
      if (!pendingRows) setImmediate(flush);
      pending += row;
      pendingRows++;
    },
  });
  if (agent) {
    const ignored = LOCAL_ONLY.filter((k) => values[k] !== undefined);
    if (ignored.length) io.err.write(`maxpro: ${ignored.map((k) => `--${k}`).join(', ')}: not applied to the agent's events (use --local)\n`);
    const ended = await waitForStop(io.signal, duration, agent.subscription.done);
    agent.subscription.close();
    await agent.subscription.done;
    flush();
    if (noRecord) io.err.write(`maxpro: ${noRecord} execs from the agent carried no record (an older agent): not shown\n`);
    (json ? io.err : io.out).write(`\n${shown - out.dropped()} execs shown (${failed} failed), ${filtered} filtered out; from the agent at ${agent.subscription.url}\n` +
      formatAgentLoss('process', agent.status(), out.dropped()));
    if (ended?.by === 'agent') {
      io.err.write(`maxpro: the agent at ${agent.subscription.url} ended the stream${ended.error ? ` (${ended.error})` : ''}\n`);
      return 1;
    }
    return 0;
  }

  const pipeline = await createProcessPipeline({
    probe: {
      ...(maxArgs !== undefined ? { maxArgs } : {}),
      ...(maxArgBytes !== undefined ? { maxArgBytes } : {}),
      ...(uid !== undefined ? { uid } : {}),
    },
    ancestryDepth: json || ancestry ? depth : 0,
    redaction: { extraPatterns: values.redact ?? [] },
    kubernetes: values.kubeconfig ? { kubeconfig: values.kubeconfig } : {},
    onNotice: (m) => io.err.write(`maxpro: ${m}\n`),
    onError: (err) => io.err.write(`maxpro: ${err instanceof Error ? err.message : String(err)}\n`),
    onRecords: (records) => {
      let text = '';
      let rows = 0;
      for (const r of records) {
        if (r['event.name'] !== 'process.exec') continue;
        const row = format(r, ancestry);
        if (row) rows++;
        text += row;
      }
      if (rows) out.write(text, rows);
    },
  });
  await waitForStop(io.signal, duration);
  const stats = await pipeline.close();
  (json ? io.err : io.out).write(formatSummary(shown - out.dropped(), failed, filtered, stats, out.dropped()));
  return 0;
}

export const traceExecCommand: Command = {
  name: 'trace exec',
  help: HELP,
  run,
};
