// SPDX-License-Identifier: Apache-2.0
/**
 * For the commands whose job is to judge a config file (`config check`,
 * `policy explain`): its problems are their output, printed as they are
 * (one FILE:LINE: PATH: REASON per line) with exit status 1, rather than
 * as a failure of the command.
 */
import type { CommandIO } from './command.js';
import { ConfigError } from '../lib/errors.js';

export async function reportConfigErrors(io: CommandIO, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err.write(`${err.message}\n`);
    return 1;
  }
}
