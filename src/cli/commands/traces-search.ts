// SPDX-License-Identifier: Apache-2.0
/** `maxpro traces search`: find spans in the collector and print them as a table. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { createQueryClient } from '../../collector/query-client.js';
import { formatDuration } from '../../collector/waterfall.js';
import type { SpanPage } from '../../collector/span-store.js';

const HELP = `USAGE: maxpro traces search [flags]

Searches stored spans, newest first, and prints a table (or JSON with --json).

FLAGS:
  --service <name>        only this service
  --operation <name>      only this operation (span name)
  --since <dur>           start of the window as a duration ago (default 1h)
  --start <time> / --end <time>   window bounds: Unix ns, RFC 3339, or a duration ago
  --min-duration <dur>    e.g. 100ms
  --max-duration <dur>
  --status <s>            unset, ok or error
  --attr <key=value>      attribute equality; repeatable
  --limit <n>             page size (default 20)
  --page-token <t>        the next page, as printed after a full page
  --url <url>             collector URL (default: see below, else http://127.0.0.1:4318)
  --token-file <file>     read the bearer token from this file
  --json                  print the raw page as JSON
The collector and its token are found without flags: $MAXPRO_COLLECTOR_URL and
$MAXPRO_COLLECTOR_TOKEN (or $MAXPRO_COLLECTOR_TOKEN_FILE), else the collector
that \`maxpro collector\` or \`maxpro up\` runs on this node and its token file.

EXAMPLES:
  maxpro traces search --service checkout --status error --since 15m
  maxpro traces search --attr http.route=/api/cart --min-duration 250ms --limit 50
  maxpro traces search --service checkout --json | jq -r '.spans[].traceId'
`;

/** Formats a page of spans as an aligned table. */
export function formatSpanTable(page: SpanPage): string {
  if (page.spans.length === 0) return 'no spans found\n';
  const rows = page.spans.map((s) => [
    s.traceId, s.spanId, s.service, s.name,
    new Date(Number(BigInt(s.startTimeUnixNano) / 1_000_000n)).toISOString(),
    formatDuration(s.durationNs), s.status.code === 2 ? 'ERROR' : s.status.code === 1 ? 'ok' : '-',
  ]);
  const head = ['TRACE ID', 'SPAN ID', 'SERVICE', 'OPERATION', 'START', 'DURATION', 'STATUS'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const fmt = (r: string[]): string => r.map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [fmt(head), ...rows.map(fmt)];
  if (page.nextPageToken) lines.push('', `more: --page-token ${page.nextPageToken}`);
  return `${lines.join('\n')}\n`;
}

export const tracesSearchCommand: Command = {
  name: 'traces search',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        service: { type: 'string' }, operation: { type: 'string' }, since: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' },
        'min-duration': { type: 'string' }, 'max-duration': { type: 'string' }, status: { type: 'string' }, attr: { type: 'string', multiple: true },
        limit: { type: 'string' }, 'page-token': { type: 'string' }, url: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' },
      },
    });
    const client = createQueryClient({ ...(values.url ? { url: values.url } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
    const page = await client.searchSpans({
      service: values.service, operation: values.operation,
      start: values.start ?? values.since ?? '1h', end: values.end,
      minDuration: values['min-duration'], maxDuration: values['max-duration'], status: values.status,
      attr: values.attr, limit: values.limit === undefined ? undefined : Number(values.limit), pageToken: values['page-token'],
    });
    io.out.write(values.json ? `${JSON.stringify(page, null, 2)}\n` : formatSpanTable(page));
    return 0;
  },
};
