// SPDX-License-Identifier: Apache-2.0
/** `maxpro services`: list the services (and their operations) the collector has seen. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { createQueryClient } from '../../collector/query-client.js';

const HELP = `USAGE: maxpro services [--json] [--url <url>] [--token-file <file>]

Lists the services that sent spans to the collector, with their operation count.
The collector and its token are found without flags: $MAXPRO_COLLECTOR_URL and
$MAXPRO_COLLECTOR_TOKEN (or $MAXPRO_COLLECTOR_TOKEN_FILE), else the collector
that \`maxpro collector\` or \`maxpro up\` runs on this node and its token file.

EXAMPLES:
  maxpro services
  maxpro services --json | jq -r '.services[].name'
`;

export const servicesCommand: Command = {
  name: 'services',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean' }, url: { type: 'string' }, 'token-file': { type: 'string' }, verbose: { type: 'boolean', short: 'v' } } });
    const client = createQueryClient({ ...(values.url ? { url: values.url } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
    const ops = await client.listOperations();
    const byService = new Map<string, string[]>();
    for (const s of await client.listServices()) byService.set(s, []);
    for (const o of ops) byService.get(o.service)?.push(o.name);
    const services = [...byService.entries()].map(([name, operations]) => ({ name, operations: [...new Set(operations)].sort() }));
    if (values.json) {
      io.out.write(`${JSON.stringify({ services }, null, 2)}\n`);
      return 0;
    }
    if (services.length === 0) {
      io.out.write('no services yet\n');
      return 0;
    }
    const w = Math.max(7, ...services.map((s) => s.name.length));
    io.out.write(`${'SERVICE'.padEnd(w)}  OPERATIONS\n${services.map((s) => `${s.name.padEnd(w)}  ${s.operations.length}`).join('\n')}\n`);
    return 0;
  },
};
