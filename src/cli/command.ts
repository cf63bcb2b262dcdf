// SPDX-License-Identifier: Apache-2.0
/** The shape every `maxpro <verb>` command implements. */
export interface Command {
  /** The words that select it, e.g. `doctor` or `trace exec`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Full help: USAGE and EXAMPLES blocks. */
  readonly help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Where a command writes. Tests pass their own streams. */
export interface CommandIO {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  readonly signal: AbortSignal;
}
