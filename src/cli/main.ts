// SPDX-License-Identifier: Apache-2.0
/** `maxpro` command dispatch: picks the longest command name that prefixes argv. */
import { COMMANDS } from './command-registry.js';
import type { CommandEntry, CommandIO } from './command.js';
import { MaxproError } from '../lib/errors.js';

const USAGE = `USAGE: maxpro <command> [flags]

eBPF observability for Linux nodes and Kubernetes.

COMMANDS:
`;

function findCommand(argv: string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let best: { entry: CommandEntry; rest: string[] } | undefined;
  for (const entry of COMMANDS) {
    const words = entry.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.entry.name.split(' ').length)) {
      best = { entry, rest: argv.slice(words.length) };
    }
  }
  return best;
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return USAGE + COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n') +
    '\n\nRun `maxpro <command> --help` for the flags and examples of one command.\n';
}

/** Runs the CLI and resolves to the exit code. */
export async function main(argv: string[], io?: Partial<CommandIO>): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  if (!io?.signal) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const ctx: CommandIO = { out: io?.out ?? process.stdout, err: io?.err ?? process.stderr, signal: io?.signal ?? controller.signal };
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      ctx.out.write(usage());
      return argv.length === 0 ? 2 : 0;
    }
    const found = findCommand(argv);
    if (!found) {
      ctx.err.write(`maxpro: unknown command '${argv.join(' ')}'\n\n${usage()}`);
      return 2;
    }
    // Imported now, not at startup, so one command never pays for the others' modules.
    const command = await found.entry.load();
    if (found.rest.includes('--help') || found.rest.includes('-h')) {
      ctx.out.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
      return 0;
    }
    return await command.run(found.rest, ctx);
  } catch (err) {
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    if (err instanceof MaxproError) {
      ctx.err.write(`maxpro: ${err.message} [${err.code}]\n`);
      if (verbose && 'log' in err && Array.isArray((err as { log: unknown }).log)) {
        ctx.err.write(`${((err as { log: string[] }).log).join('\n')}\n`);
      }
    } else {
      ctx.err.write(`maxpro: ${err instanceof Error ? (verbose ? err.stack : err.message) : String(err)}\n`);
    }
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
