// SPDX-License-Identifier: Apache-2.0
/** The shape every `maxpro <verb>` command implements. */
export interface Command {
  /** The words that select it, e.g. `doctor` or `trace exec`; equal to its registry entry's name. */
  readonly name: string;
  /** Full help: USAGE and EXAMPLES blocks. */
  readonly help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/**
 * A command as the registry knows it before it is imported: what the command
 * list needs, plus how to load the rest. The one-line summary lives only here.
 */
export interface CommandEntry {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}

/** Where a command writes. Tests pass their own streams. */
export interface CommandIO {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  readonly signal: AbortSignal;
}
