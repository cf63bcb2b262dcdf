// SPDX-License-Identifier: Apache-2.0
/** `maxpro trace exec`: a live table (or JSON lines) of every exec on the node. */
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../command.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { createProcessPipeline } from '../../probes/process/process-pipeline.js';
import type { ProcessPipelineStats } from '../../probes/process/process-pipeline.js';
import type { ProcessRecord } from '../../probes/process/process-record.js';
import { createTable } from '../output/table.js';
import { formatJsonLine } from '../output/json-lines.js';

const HELP = `USAGE: maxpro trace exec [flags]

Shows every exec on this node as it happens, successful or failed, with its
full argv (secrets redacted), parent, user, return value, and the container
or pod it runs in. Ctrl-C stops and prints a summary, lost events included.

FLAGS:
  --comm NAME          only execs whose comm or executable name is NAME
  --pid PID            only execs by PID or whose parent is PID
  --container ID       only execs in containers whose id starts with ID
  --pod NAME           only execs in pods with this name (or pod UID)
  --namespace NS       only execs in pods of this Kubernetes namespace
  --failed             only failed execs
  --uid UID            only this real user (filtered in the kernel)
  --json               one JSON event per line (OpenTelemetry attribute names)
  --ancestry           show the parent chain of each exec
  --ancestry-depth N   parents to resolve (default 8)
  --max-args N         arguments kept per exec (default 128, at most 1024)
  --max-arg-bytes N    argument bytes kept per exec (default 4096, at most 32768)
  --redact REGEX       an extra redaction rule (repeatable); group 1 is kept
  --kubeconfig PATH    pod metadata from this cluster (default: in-cluster account)
  --duration SEC       stop after SEC seconds
  -v, --verbose        print the verifier log when loading fails

EXAMPLES:
  maxpro trace exec                         # every exec, live table
  maxpro trace exec --failed                # only failed execs, with errno
  maxpro trace exec --namespace prod --ancestry
  maxpro trace exec --json | jq 'select(."k8s.pod.name" != null)'
`;

interface Filters {
  comm?: string;
  pid?: number;
  container?: string;
  pod?: string;
  namespace?: string;
  failed: boolean;
}

/** Whether an exec record passes the command-line filters. */
export function matchesExecFilters(r: ProcessRecord, f: Filters): boolean {
  if (r['event.name'] !== 'process.exec') return false;
  if (f.failed && (r['maxpro.exec.retval'] ?? 0) >= 0) return false;
  if (f.comm !== undefined && r['maxpro.comm'] !== f.comm && r['process.executable.name'] !== f.comm) return false;
  if (f.pid !== undefined && r['process.pid'] !== f.pid && r['process.parent_pid'] !== f.pid) return false;
  if (f.container !== undefined && !(r['container.id'] ?? '').startsWith(f.container)) return false;
  if (f.pod !== undefined && r['k8s.pod.name'] !== f.pod && r['k8s.pod.uid'] !== f.pod) return false;
  if (f.namespace !== undefined && r['k8s.namespace.name'] !== f.namespace) return false;
  return true;
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

function where(r: ProcessRecord): string {
  if (r['k8s.pod.name']) return `${r['k8s.namespace.name'] ?? ''}/${r['k8s.pod.name']}`;
  if (r['container.id']) return `${r['container.runtime'] ?? ''}:${r['container.id'].slice(0, 12)}`;
  if (r['k8s.pod.uid']) return `pod:${r['k8s.pod.uid']}`;
  return '-';
}

/** The table row of one exec record. */
export function formatExecRow(r: ProcessRecord): string {
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
export function formatAncestry(r: ProcessRecord): string {
  const chain = (r['maxpro.ancestry'] ?? []).map((a) => `${a.comm ?? '?'}(${a.pid})`);
  return `    ↳ ${chain.length ? chain.join(' ← ') : '(no known parent)'}`;
}

/** The Ctrl-C summary. */
export function formatSummary(shown: number, failed: number, filtered: number, s: ProcessPipelineStats): string {
  const l = s.probe.lost;
  const k = l.kernel;
  return `\n${shown} execs shown (${failed} failed), ${filtered} filtered out; events: ${s.probe.events.exec} exec, ${s.probe.events.fork} fork, ${s.probe.events.exit} exit\n` +
    `lost: ${l.total} (ringbuf_full ${k.ringbuf_full}, output_failed ${k.output_failed}, helper_failed ${k.helper_failed}, ` +
    `map_full ${k.map_full}, reader ${l.reader}, decode ${l.decode})\n`;
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--${name}: ${v} is not a non-negative integer`);
  return n;
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'comm': { type: 'string' }, 'pid': { type: 'string' }, 'container': { type: 'string' }, 'pod': { type: 'string' },
      'namespace': { type: 'string' }, 'failed': { type: 'boolean' }, 'uid': { type: 'string' }, 'json': { type: 'boolean' },
      'ancestry': { type: 'boolean' }, 'ancestry-depth': { type: 'string' }, 'max-args': { type: 'string' },
      'max-arg-bytes': { type: 'string' }, 'redact': { type: 'string', multiple: true }, 'kubeconfig': { type: 'string' },
      'duration': { type: 'string' }, 'verbose': { type: 'boolean', short: 'v' },
    },
  });
  const filters: Filters = { failed: values.failed ?? false };
  if (values.comm !== undefined) filters.comm = values.comm;
  const pid = intFlag('pid', values.pid);
  if (pid !== undefined) filters.pid = pid;
  if (values.container !== undefined) filters.container = values.container;
  if (values.pod !== undefined) filters.pod = values.pod;
  if (values.namespace !== undefined) filters.namespace = values.namespace;
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

  if (!json) io.out.write(`${TABLE.header()}\n`);
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
      for (const r of records) {
        if (r['event.name'] !== 'process.exec') continue;
        if (!matchesExecFilters(r, filters)) {
          filtered++;
          continue;
        }
        shown++;
        if ((r['maxpro.exec.retval'] ?? 0) < 0) failed++;
        if (json) text += formatJsonLine(r);
        else {
          text += `${formatExecRow(r)}\n`;
          if (ancestry) text += `${formatAncestry(r)}\n`;
        }
      }
      if (text) io.out.write(text);
    },
  });
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    const timer = duration !== undefined ? setTimeout(resolve, duration * 1000) : undefined;
    io.signal.addEventListener('abort', () => {
      if (timer) clearTimeout(timer);
      resolve();
    }, { once: true });
  });
  const stats = await pipeline.close();
  (json ? io.err : io.out).write(formatSummary(shown, failed, filtered, stats));
  return 0;
}

export const traceExecCommand: Command = {
  name: 'trace exec',
  summary: 'live table of every exec: argv, parent, return value, container and pod',
  help: HELP,
  run,
};
