// SPDX-License-Identifier: Apache-2.0
/** `maxpro agent`: the node agent daemon. */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command, CommandIO } from '../command.js';
import { startAgentWorker } from '../../agent/agent-worker.js';
import { resolveConfigInWorker } from '../../agent/config/config-worker.js';
import type { ConfigSources } from '../../agent/config/config-overrides.js';
import type { AgentConfig } from '../../agent/config/agent-config.js';
import { defaultTokenFile, publishLocalEndpoint } from '../../lib/http/local-endpoints.js';
import { PROBE_NAMES, probeModules } from '../../probes/registry.js';

const HELP = `USAGE: maxpro agent [--config FILE] [flags]

Runs the enabled probes (process, tcp) through one pipeline: decode, enrich
(process, container, pod), apply policies, export. Serves /metrics
(Prometheus text or OpenMetrics), /healthz, /readyz, /debug/pprof/profile,
/debug/pprof/heap and /stream (NDJSON live events). Pushes OTLP/HTTP and
Prometheus remote-write when enabled. SIGHUP or a change to the config file
reloads it in place; an invalid file is refused and the old one stays in
force. SIGTERM drains every queue within agent.drainTimeoutMs, then exits.

/stream, /tcp/aggregates and /debug/pprof (off unless http.pprof) need
Authorization: Bearer <token>, the token in http.auth.tokenFile (default
${defaultTokenFile('agent')}, mode 0600, created on first start; maxpro
trace and top read it). /metrics and the health endpoints are open on a
loopback address; on any other address /metrics needs the token too, unless
http.auth.open lists it, and authentication cannot be turned off.

FLAGS:
  --config FILE            YAML configuration (see docs/config.schema.json)
  --listen HOST:PORT       HTTP endpoints (default 127.0.0.1:9464)
  --pin-dir DIR            bpffs directory (default /sys/fs/bpf/maxpro)
  --no-keep-pinned         remove the pinned TCP counts on shutdown (by default
                           they stay, so the next start carries them on)
  --otlp-endpoint URL      OTLP/HTTP base URL (enables OTLP export)
  --remote-write-url URL   Prometheus remote-write URL (enables it)
${probeModules().map((m) => `  ${`--no-${m.name}`.padEnd(25)}do not run the ${m.label ?? m.name} probe\n`).join('')}
Environment: MAXPRO_* variables (e.g. MAXPRO_HTTP_LISTEN) and the standard
OTEL_EXPORTER_OTLP_* variables override the file; flags override both.

EXAMPLES:
  maxpro agent --config /etc/maxpro/agent.yaml
  maxpro agent --no-process --listen 10.0.0.7:9464   # token needed for /metrics there too
  OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 maxpro agent --otlp-endpoint http://collector:4318
`;

/** Parses the agent's flags into config sources. */
export function agentConfigSources(argv: string[]): ConfigSources {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' }, listen: { type: 'string' }, 'pin-dir': { type: 'string' }, 'keep-pinned': { type: 'boolean' }, 'no-keep-pinned': { type: 'boolean' },
      'otlp-endpoint': { type: 'string' }, 'remote-write-url': { type: 'string' },
      ...Object.fromEntries(PROBE_NAMES.map((p) => [`no-${p}`, { type: 'boolean' as const }])),
    },
  });
  const flags: Record<string, string> = {};
  for (const k of ['listen', 'pin-dir', 'otlp-endpoint', 'remote-write-url'] as const) if (values[k] !== undefined) flags[`--${k}`] = values[k];
  for (const k of ['keep-pinned', 'no-keep-pinned', ...PROBE_NAMES.map((p) => `no-${p}`)]) if ((values as Record<string, unknown>)[k]) flags[`--${k}`] = 'true';
  return { ...(values.config ? { file: values.config } : {}), flags };
}

/** Adds the implied `enabled: true` of endpoint flags. */
function withImplied(sources: ConfigSources): ConfigSources {
  const env: Record<string, string | undefined> = { ...process.env };
  if (sources.flags?.['--otlp-endpoint']) env.MAXPRO_OTLP_ENABLED = 'true';
  if (sources.flags?.['--remote-write-url']) env.MAXPRO_REMOTE_WRITE_ENABLED = 'true';
  return { ...sources, env };
}

/** Reloads on SIGHUP and on changes to the file; returns a stop function. */
export function watchReloads(agent: { reload(next: AgentConfig): Promise<void>; reloadRefused?(): Promise<void> }, sources: ConfigSources, io: CommandIO): () => void {
  let pending: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reload = (why: string): void => {
    running = running.then(async () => {
      let next;
      try {
        next = (await resolveConfigInWorker(withImplied(sources))).config;
      } catch (err) {
        io.err.write(`reload (${why}) refused, the previous configuration stays in force:\n${err instanceof Error ? err.message : String(err)}\n`);
        // Refused here, before the agent saw it: still counted where operators alert.
        await agent.reloadRefused?.().catch(() => undefined);
        return;
      }
      try {
        await agent.reload(next);
        io.err.write(`reload (${why}): applied\n`);
      } catch (err) {
        io.err.write(`reload (${why}) failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  };
  const onHup = (): void => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | undefined;
  if (sources.file) {
    try {
      // Watch the directory: editors and config-map updates replace the file (a new inode).
      const name = basename(sources.file);
      watcher = watch(dirname(sources.file), (_event, changed) => {
        if (changed !== null && changed !== name && !changed.startsWith('..')) return;
        if (pending) clearTimeout(pending);
        pending = setTimeout(() => reload('file changed'), 200);
      });
    } catch (err) {
      io.err.write(`cannot watch ${sources.file}: ${String(err)}; SIGHUP still reloads\n`);
    }
  }
  return () => {
    process.removeListener('SIGHUP', onHup);
    watcher?.close();
    if (pending) clearTimeout(pending);
  };
}

export async function waitForAbort(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export const agentCommand: Command = {
  name: 'agent',
  help: HELP,
  async run(argv, io) {
    const sources = agentConfigSources(argv);
    const { config, applied } = await resolveConfigInWorker(withImplied(sources));
    if (applied.length) io.err.write(`overrides: ${applied.join(', ')}\n`);
    // The agent runs in a worker thread whose young generation is capped (see agent-worker.ts).
    const agent = await startAgentWorker({ config, log: (l) => io.err.write(`${l}\n`) });
    io.out.write(`maxpro agent: metrics ${agent.url}/metrics, stream ${agent.url}/stream, probes: ${agent.probes.join(', ') || 'none'}\n`);
    const tokenFile = config.http.auth.enabled ? config.http.auth.tokenFile ?? defaultTokenFile('agent') : undefined;
    const unpublish = publishLocalEndpoint('agent', { url: agent.url, ...(tokenFile ? { tokenFile } : {}) });
    const stop = watchReloads(agent, sources, io);
    const crashed = await Promise.race([waitForAbort(io.signal).then(() => undefined), agent.exited]);
    stop();
    unpublish();
    if (crashed !== undefined) {
      io.err.write(`the agent stopped unexpectedly (worker exit code ${crashed})\n`);
      return 1;
    }
    io.err.write(`shutting down (drain deadline ${config.agent.drainTimeoutMs} ms)\n`);
    await agent.shutdown();
    return 0;
  },
};
