// SPDX-License-Identifier: Apache-2.0
/** The list of CLI commands. One line per command; order is the help order. */
import type { Command } from './command.js';
import { doctorCommand } from './commands/doctor.js';
import { upCommand } from './commands/up.js';
import { traceExecCommand } from './commands/trace-exec.js';
import { traceTcpCommand } from './commands/trace-tcp.js';
import { topTcpCommand } from './commands/top-tcp.js';
import { collectorCommand } from './commands/collector.js';
import { tracesSearchCommand } from './commands/traces-search.js';
import { tracesGetCommand } from './commands/traces-get.js';
import { servicesCommand } from './commands/services.js';
import { agentCommand } from './commands/agent.js';
import { configCheckCommand, configSchemaCommand } from './commands/config-check.js';
import { policyExplainCommand } from './commands/policy-explain.js';

export const COMMANDS: readonly Command[] = [
  upCommand,
  doctorCommand,
  traceExecCommand,
  traceTcpCommand,
  topTcpCommand,
  collectorCommand,
  tracesSearchCommand,
  tracesGetCommand,
  servicesCommand,
  agentCommand,
  configCheckCommand,
  configSchemaCommand,
  policyExplainCommand,
];
