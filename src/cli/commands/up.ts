// SPDX-License-Identifier: Apache-2.0
/** `maxpro up`: agent and collector together on this node, with embedded defaults. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { resolveConfigInWorker } from '../../agent/config/config-worker.js';
import type { Collector } from '../../collector/collector.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { waitForAbort, watchReloads } from './agent.js';
import { runDoctor } from '../../doctor/run-doctor.js';
import { formatDoctorReport } from './doctor.js';
import { formatUpSummary } from '../up-summary.js';
import { formatUpBanner } from '../up-banner.js';
import { defaultTokenFile, publishLocalEndpoint } from '../../lib/http/local-endpoints.js';
import { ensureTokenFile } from '../../lib/http/token-file.js';

const HELP = `USAGE: maxpro up [--config FILE] [flags]

Runs the agent and the collector together on this node. The agent's OTLP
exporter points at the in-process collector, so events and aggregates land
in the local store. Prints the URLs, the token files and the OTLP variables an
application needs, then a live summary every few seconds, until interrupted.
The collector's token is the one \`maxpro collector\` uses (its token file, created
on first start); \`maxpro services\`, \`maxpro traces\` and \`maxpro trace\` find
both parts and their tokens without flags.

FLAGS:
  --config FILE        agent configuration (defaults are embedded)
  --listen HOST:PORT   agent endpoints (default 127.0.0.1:9464)
  --collector-port N   collector port (default 4318, OTLP/gRPC on 4317; 0 picks free ones)
  --data-dir DIR       collector store (default: the collector's, see maxpro collector --help)
  --no-collector       run the agent alone
  --interval SECONDS   summary period (default 5)

EXAMPLES:
  sudo maxpro up
  sudo maxpro up --config agent.yaml --collector-port 0
`;

export const upCommand: Command = {
  name: 'up',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv, strict: true,
      options: {
        config: { type: 'string', short: 'c' }, listen: { type: 'string' }, 'collector-port': { type: 'string' },
        'data-dir': { type: 'string' }, 'no-collector': { type: 'boolean' }, interval: { type: 'string' },
      },
    });
    const interval = Number(values.interval ?? '5');
    if (!(interval >= 1 && interval <= 3600)) throw new InvalidArgumentError(`--interval ${values.interval}: 1..3600 seconds`);
    const port = Number(values['collector-port'] ?? '4318');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--collector-port ${values['collector-port']}: 0..65535`);
    // Check the node first: a missing mount or capability is named with its fix.
    const report = runDoctor({ fix: process.getuid?.() === 0 });
    if (!report.ok) {
      io.out.write(formatDoctorReport(report));
      return 1;
    }
    const optional = report.checks.filter((c) => !c.required && c.status !== 'ok').map((c) => c.title);
    io.out.write(`doctor: every required check passes on ${report.kernel}${optional.length ? ` (not available, optional: ${optional.join(', ')})` : ''}\n`);
    let collector: Collector | undefined;
    const collectorTokenFile = defaultTokenFile('collector');
    const token = values['no-collector'] ? '' : ensureTokenFile(collectorTokenFile);
    if (!values['no-collector']) {
      const { createCollector, defaultDataDir } = await import('../../collector/collector.js');
      collector = await createCollector({
        host: '127.0.0.1', port, dataDir: values['data-dir'] ?? defaultDataDir(), auth: { tokens: [token] },
        log: (l) => io.err.write(`collector: ${l}\n`),
      });
    } else io.out.write('collector: not started (--no-collector); the agent runs alone\n');
    const sources = {
      ...(values.config ? { file: values.config } : {}),
      flags: { ...(values.listen ? { '--listen': values.listen } : {}), ...(collector ? { '--otlp-endpoint': collector.url } : {}) },
      env: { ...process.env, ...(collector ? { MAXPRO_OTLP_ENABLED: 'true' } : {}) },
    };
    const { config } = await resolveConfigInWorker(sources);
    if (collector) config.exporters.otlp.headers = { ...config.exporters.otlp.headers, authorization: `Bearer ${token}` };
    const { startAgentWorker } = await import('../../agent/agent-worker.js');
    let agent;
    try {
      agent = await startAgentWorker({ config, log: (l) => io.err.write(`agent: ${l}\n`) });
    } catch (err) {
      await collector?.close();
      throw err;
    }
    const cfg = config;
    const agentTokenFile = cfg.http.auth.enabled ? cfg.http.auth.tokenFile ?? defaultTokenFile('agent') : undefined;
    io.out.write(formatUpBanner({
      agentUrl: agent.url, pprof: cfg.http.pprof, probes: agent.probes, root: process.getuid?.() === 0,
      ...(agentTokenFile ? { agentTokenFile } : {}),
      ...(collector ? { collector: { url: collector.url, tokenFile: collectorTokenFile, ...(collector.grpcUrl ? { grpcUrl: collector.grpcUrl } : {}) } } : {}),
    }));
    const unpublish = [
      publishLocalEndpoint('agent', { url: agent.url, ...(agentTokenFile ? { tokenFile: agentTokenFile } : {}) }),
      ...(collector ? [publishLocalEndpoint('collector', { url: collector.url, tokenFile: collectorTokenFile, ...(collector.grpcUrl ? { grpcUrl: collector.grpcUrl } : {}) })] : []),
    ];
    const stopReload = watchReloads(agent, sources, io);
    const a = agent;
    const summary = async (): Promise<void> => {
      const [s, fams] = await Promise.all([a.stats(), a.collect()]);
      const c = collector?.stats();
      const cs = c ? { logs: c.accepted.logs ?? 0, metrics: c.accepted.metrics ?? 0 } : undefined;
      io.out.write(`${formatUpSummary(new Date(), s, fams, cs)}\n`);
    };
    const timer = setInterval(() => { summary().catch((err: unknown) => io.err.write(`summary: ${String(err)}\n`)); }, interval * 1000);
    timer.unref();
    const crashed = await Promise.race([waitForAbort(io.signal).then(() => undefined), agent.exited]);
    clearInterval(timer);
    stopReload();
    for (const u of unpublish) u();
    if (crashed !== undefined) io.err.write(`the agent stopped unexpectedly (worker exit code ${crashed})\n`);
    else await agent.shutdown();
    await collector?.close();
    return crashed === undefined ? 0 : 1;
  },
};
