// SPDX-License-Identifier: Apache-2.0
/** The list of CLI commands. One line per command; order is the help order. */
import type { Command } from './command.js';
import { doctorCommand } from './commands/doctor.js';
import { upCommand } from './commands/up.js';

export const COMMANDS: readonly Command[] = [
  upCommand,
  doctorCommand,
];
