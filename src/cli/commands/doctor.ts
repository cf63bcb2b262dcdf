// SPDX-License-Identifier: Apache-2.0
import type { Command } from '../command.js';
export const doctorCommand: Command = { name: 'doctor', summary: 'check this node', help: 'USAGE: maxpro doctor', run: async () => 0 };
