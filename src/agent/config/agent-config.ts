// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's configuration: one YAML file, validated by this schema (zod).
 * `docs/config.schema.json` is generated from it (a unit test keeps it up to
 * date). Unknown keys are errors everywhere.
 */
import { z } from 'zod';
import { POLICY_SET_SCHEMA } from '../policy/policy.js';
import { checkRedactionPattern } from '../../enrich/redaction-pattern.js';
import { isLoopbackHost } from '../../lib/http/loopback.js';
import { configSection } from '../../lib/config-section.js';
import { PROBE_MODULES, probeModules } from '../../probes/registry.js';
import type { ProbeName, RegisteredModule } from '../../probes/registry.js';

// Redaction patterns run on RE2 (linear time); backtracking-prone or empty-matching ones are refused.
const regexString = z.string().superRefine((v, ctx) => {
  const why = checkRedactionPattern(v);
  if (why !== undefined) ctx.addIssue({ code: 'custom', message: `redaction pattern ${JSON.stringify(v)}: ${why}` });
});

const listen = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464');

const section = configSection;

/** Each probe's section under `probes`: its module's schema fragment. */
const PROBE_SECTIONS = Object.fromEntries(PROBE_MODULES.map((m) => [m.name, section(m.config(z))])) as {
  [M in RegisteredModule as M['name']]: ReturnType<typeof configSection<ReturnType<M['config']>>>;
};

const headers = z.record(z.string(), z.string()).default({});

const queue = {
  queueSize: z.number().int().min(1).max(1_000_000).default(8192).describe('Items held before new ones are dropped (reason queue_full).'),
  batchSize: z.number().int().min(1).max(100_000).default(512),
  flushIntervalMs: z.number().int().min(10).max(600_000).default(1000),
  timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
};

export const AGENT_CONFIG_SCHEMA = z.object({
  agent: section(z.object({
    pinDir: z.string().startsWith('/').default('/sys/fs/bpf/maxpro').describe('bpffs directory for pinned programs and maps.'),
    keepPinned: z.boolean().default(true).describe('Leave the pinned TCP counts in place on shutdown, so the next start carries them on; false removes every pin.'),
    drainTimeoutMs: z.number().int().min(100).max(300_000).default(5000).describe('SIGTERM: longest time spent draining queues.'),
    nodeName: z.string().min(1).optional(),
  }).strict()),
  probes: section(z.object(PROBE_SECTIONS).strict()),
  policy: POLICY_SET_SCHEMA.default(() => DEFAULT_POLICY()).describe(
    `Default: ${probeModules().flatMap((m) => (m.defaultPolicy ? [m.defaultPolicy.description] : [])).join('; ')}.`,
  ),
  kubernetes: section(z.object({
    enabled: z.boolean().default(true).describe(
      'Pod metadata (name, namespace, labels, owner) for labels and selectors, when a cluster is configured: ' +
      'the in-cluster service account, or `kubeconfig`. Without one the agent says so once and goes on.',
    ),
    kubeconfig: z.string().min(1).optional().describe('Path of a kubeconfig; default: the in-cluster service account.'),
    maxPods: z.number().int().min(1).max(100_000).default(1024).describe('Most pods kept (this node\'s); the rest are counted, not labelled.'),
  }).strict()).describe('Takes effect on restart.'),
  workloads: z.array(z.object({
    cgroup: z.string().startsWith('/').describe('cgroup v2 path prefix (relative to the cgroup2 mount).'),
    labels: z.record(z.string(), z.string()).default({}),
    namespace: z.string().optional(),
    workload: z.string().optional(),
  }).strict()).max(4096).default([]).describe('Labels for cgroups outside Kubernetes (bare-metal services, test cgroups).'),
  redaction: section(z.object({
    extraPatterns: z.array(regexString).max(256).default([]),
  }).strict()),
  http: section(z.object({
    listen: listen.default('127.0.0.1:9464'),
    pprof: z.boolean().default(false).describe('Serve /debug/pprof (CPU and heap profiles of the agent), behind the token.'),
    auth: section(z.object({
      enabled: z.boolean().default(true).describe('Require `Authorization: Bearer <token>`; false is refused unless http.listen is a loopback address.'),
      tokenFile: z.string().min(1).optional().describe(
        'File holding the token (mode 0600, created with a random token when missing); default <state dir>/agent.token, '
        + 'i.e. /var/lib/maxpro/agent.token for root or $MAXPRO_STATE_DIR/agent.token.',
      ),
      open: z.array(z.enum(['metrics', 'health'])).max(2).optional().describe(
        'Endpoints served without the token; default [metrics, health] on a loopback listen, [health] elsewhere. '
        + '/stream, /tcp/aggregates and /debug/pprof always need it.',
      ),
    }).strict()),
    maxConnections: z.number().int().min(8).max(65_536).default(256).describe('Open connections at most; at the cap the longest-idle one is closed, else the new one is refused (503).'),
    maxConnectionsPerClient: z.number().int().min(1).max(65_536).default(64).describe('Open connections per client address at most.'),
    stream: section(z.object({
      maxClients: z.number().int().min(0).max(256).default(16),
      maxClientsPerAddress: z.number().int().min(1).max(256).optional().describe('Subscribers per client address; default half of maxClients.'),
      clientBufferBytes: z.number().int().min(4096).max(1 << 28).default(1 << 20).describe('Per client; events beyond it are dropped (reason slow_client).'),
    }).strict()),
  }).strict().superRefine((h, ctx) => {
    const host = /^(?:\[([^\]]+)\]|([^:]*)):\d+$/.exec(h.listen);
    if (!h.auth.enabled && !isLoopbackHost(host?.[1] ?? (host?.[2] || '0.0.0.0'))) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'enabled'], message: `authentication can be off only on a loopback listen address, not ${h.listen}: anyone reaching it could read every process's arguments from /stream` });
    }
  })),
  exporters: section(z.object({
    otlp: section(z.object({
      enabled: z.boolean().default(false),
      endpoint: z.url().default('http://127.0.0.1:4318').describe('Base URL; /v1/logs and /v1/metrics are appended.'),
      logsEndpoint: z.url().optional(),
      metricsEndpoint: z.url().optional(),
      protocol: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
      headers,
      metricsIntervalMs: z.number().int().min(100).max(600_000).default(10_000),
      ...queue,
    }).strict()),
    remoteWrite: section(z.object({
      enabled: z.boolean().default(false),
      url: z.url().default('http://127.0.0.1:9090/api/v1/write'),
      headers,
      intervalMs: z.number().int().min(100).max(600_000).default(15_000),
      ...queue,
    }).strict()),
  }).strict()),
}).strict();

/** The embedded policy: every probe's default rules, in registry order. */
function DEFAULT_POLICY() {
  return {
    default: 'keep' as const,
    rules: probeModules().flatMap((m) => (m.defaultPolicy?.rules ?? []).map(({ probes, ...r }) => ({
      ...r, ...(probes ? { probes: [...probes] as ProbeName[] } : {}),
    }))),
  };
}

/** A validated configuration with every default filled in. */
export type AgentConfig = z.infer<typeof AGENT_CONFIG_SCHEMA>;

/** The JSON Schema published as docs/config.schema.json. */
export function agentConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(AGENT_CONFIG_SCHEMA, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://maxpro.dev/schemas/agent-config.json',
    title: 'MaxPro agent configuration',
  };
}
