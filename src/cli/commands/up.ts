// SPDX-License-Identifier: Apache-2.0
import type { Command } from '../command.js';
export const upCommand: Command = { name: 'up', summary: 'run', help: 'USAGE: maxpro up', run: async () => 0 };
