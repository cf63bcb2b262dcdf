// SPDX-License-Identifier: Apache-2.0
/** `maxpro traces get <traceId>`: print one trace as a terminal waterfall. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { createQueryClient } from '../../collector/query-client.js';
import { renderWaterfall } from '../../collector/waterfall.js';
import { WATERFALL_FLAGS, waterfallHint, waterfallView } from '../waterfall-flags.js';
import { InvalidArgumentError } from '../../lib/errors.js';

const HELP = `USAGE: maxpro traces get <traceId> [--json] [--url <url>] [--token-file <file>] [--width <n>] [--no-color]
                         [--fold <n>] [--depth <n>] [--errors-only] [--critical-path]

Prints the trace as a waterfall: the span tree indented, one duration bar per
span on a shared time axis, errors highlighted. --json prints the span tree.
Past a share of the width the indentation is compressed to a marker
(\`┆12\`: twelve levels not drawn), so names stay readable at any depth;
newlines and control characters in names and messages are shown escaped.

VIEWS (combine freely):
  --fold <n>         fold runs of same-shape sibling subtrees into one line, and
                     show at most n child lines per span (the rest: one line)
  --depth <n>        show n levels below the roots; deeper spans become one line
  --errors-only      only failed spans and their ancestors
  --critical-path    only the spans the trace's end waited for
The collector and its token are found without flags: $MAXPRO_COLLECTOR_URL and
$MAXPRO_COLLECTOR_TOKEN (or $MAXPRO_COLLECTOR_TOKEN_FILE), else the collector
that \`maxpro collector\` or \`maxpro up\` runs on this node and its token file.

EXAMPLES:
  maxpro traces get 5b8efff798038103d269b633813fc60c
  maxpro traces get 5b8efff798038103d269b633813fc60c --json | jq '.roots[0].children | length'
  maxpro traces get 5b8efff798038103d269b633813fc60c --fold 10 --depth 6
  maxpro traces get 5b8efff798038103d269b633813fc60c --critical-path --errors-only
`;

export const tracesGetCommand: Command = {
  name: 'traces get',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, url: { type: 'string' }, 'token-file': { type: 'string' }, width: { type: 'string' }, 'no-color': { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' }, ...WATERFALL_FLAGS },
    });
    const traceId = positionals[0];
    if (!traceId || positionals.length > 1) throw new InvalidArgumentError('give exactly one trace id (32 hex digits)');
    if (!/^[0-9a-fA-F]{32}$/.test(traceId)) throw new InvalidArgumentError(`trace id '${traceId.slice(0, 40)}' must be 32 hex digits`);
    const view = waterfallView(values);
    const tree = await createQueryClient({ ...(values.url ? { url: values.url } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) }).getTrace(traceId);
    if (values.json) {
      io.out.write(`${JSON.stringify(tree, null, 2)}\n`);
      return 0;
    }
    const tty = (io.out as NodeJS.WriteStream).isTTY === true;
    const width = values.width ? Number(values.width) : (io.out as NodeJS.WriteStream).columns ?? 120;
    io.out.write(`${waterfallHint(tree.spanCount, view)}${renderWaterfall(tree, { width, color: tty && !values['no-color'], ...view })}\n`);
    return 0;
  },
};
