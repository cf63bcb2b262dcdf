// SPDX-License-Identifier: Apache-2.0
/**
 * The list of CLI commands. One entry per command; order is the help order.
 * Modules are imported only when their command runs: importing all of them
 * would load the agent, collector, exporters and Kubernetes client on every
 * invocation, `maxpro --help` included.
 */
import type { Command, CommandEntry } from './command.js';
import { probeModules } from '../probes/registry.js';

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'up',
    summary: 'run agent and collector on this node with embedded defaults',
    load: async () => (await import('./commands/up.js')).upCommand,
  },
  {
    name: 'doctor',
    summary: 'check that this node can run the agent, and say how to fix what is missing',
    load: async () => (await import('./commands/doctor.js')).doctorCommand,
  },
  // Each probe's own commands (trace exec, trace tcp, top tcp), from its module.
  ...probeModules().flatMap((m) => (m.commands ?? []).map((c): CommandEntry => ({
    name: c.name, summary: c.summary, load: async () => (await c.load()) as Command,
  }))),
  {
    name: 'collector',
    summary: 'run the OTLP/HTTP span collector and its query API',
    load: async () => (await import('./commands/collector.js')).collectorCommand,
  },
  {
    name: 'traces search',
    summary: 'search stored spans by service, operation, time, duration, status, attributes',
    load: async () => (await import('./commands/traces-search.js')).tracesSearchCommand,
  },
  {
    name: 'traces get',
    summary: 'show one trace as a waterfall (indented tree, duration bars, errors)',
    load: async () => (await import('./commands/traces-get.js')).tracesGetCommand,
  },
  {
    name: 'services',
    summary: 'list the services that sent spans to the collector',
    load: async () => (await import('./commands/services.js')).servicesCommand,
  },
  {
    name: 'anomaly',
    summary: 'detect anomalies in series from files or a Prometheus query, with an explanation per alert',
    load: async () => (await import('./commands/anomaly.js')).anomalyCommand,
  },
  {
    name: 'anomaly watch',
    summary: "evaluate the collector's RED series every step: /metrics scores, alerts to stdout and as OTLP logs",
    load: async () => (await import('./commands/anomaly-watch.js')).anomalyWatchCommand,
  },
  {
    name: 'record',
    summary: 'record what the running agent and collector see into a capture file',
    load: async () => (await import('./commands/record.js')).recordCommand,
  },
  {
    name: 'replay',
    summary: 'play a capture back (speed, filters, live table, waterfalls, into a collector); --diff compares two',
    load: async () => (await import('./commands/replay.js')).replayCommand,
  },
  {
    name: 'agent',
    summary: 'run the node agent: probes, policies, exporters, /metrics',
    load: async () => (await import('./commands/agent.js')).agentCommand,
  },
  {
    name: 'config check',
    summary: 'validate an agent configuration file without running anything',
    load: async () => (await import('./commands/config-check.js')).configCheckCommand,
  },
  {
    name: 'config schema',
    summary: 'print the JSON Schema of the agent configuration',
    load: async () => (await import('./commands/config-check.js')).configSchemaCommand,
  },
  {
    name: 'policy explain',
    summary: 'show where each policy rule runs (kernel or user space)',
    load: async () => (await import('./commands/policy-explain.js')).policyExplainCommand,
  },
];
