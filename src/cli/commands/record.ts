// SPDX-License-Identifier: Apache-2.0
/** `maxpro record`: write a capture of what the running agent and collector see. */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { createCaptureWriter } from '../../capture/capture-writer.js';
import { createCaptureRecorder, type RecordSummary } from '../../capture/capture-recorder.js';
import { defaultAgentUrl } from '../../agent/http/live-stream-client.js';
import { createQueryClient } from '../../collector/query-client.js';
import { parseDurationNs } from '../../collector/query-api.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { localCredential } from '../../lib/http/local-endpoints.js';
import { readPrivateTokenFile } from '../../lib/http/token-file.js';
import { waitForStop } from '../agent-stream.js';

const HELP = `USAGE: maxpro record -o <file> [flags]

Records what the node's running agent and collector see into a capture file
(docs/capture-format.md): every event of the agent's live stream (exec, fork,
exit, TCP; before the export policy), every span the collector stores while
recording, and a scrape of the agent's /metrics every few seconds. Blocks are
compressed, checksummed and fsync'd as they are written, so a capture whose
recorder was killed reads to its last complete block. Ctrl-C or --duration
stops; a summary (what was recorded and every counted loss) ends the file
and is printed. Play it back with \`maxpro replay FILE\`.

FLAGS:
  -o, --output <file>        the capture to write (refused if it exists, unless --force)
  --duration <dur>           stop after this long, e.g. 60s, 5m (default: until Ctrl-C)
  --agent <url>              the agent (default $MAXPRO_AGENT_URL, else this node's)
  --agent-token-file <file>  the agent's bearer token (default: this node's agent key)
  --collector <url>          the collector (default $MAXPRO_COLLECTOR_URL, else this node's)
  --token-file <file>        the collector's bearer token (default: this node's)
  --no-events                do not subscribe to the agent's stream (nor scrape it)
  --no-spans                 do not follow the collector
  --metrics-interval <dur>   /metrics scrape period (default 5s; 0 for none)
  --force                    overwrite an existing file
  --json                     print the summary as one JSON line

EXAMPLES:
  maxpro record -o incident.mxcap --duration 60s
  maxpro record -o before.mxcap --duration 5m --no-events
`;

function formatSummary(file: string, s: RecordSummary, bytes: number): string {
  const secs = Number(BigInt(s.endedNs) - BigInt(s.startedNs)) / 1e9;
  const names = Object.entries(s.eventsByName).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c}`).join(', ');
  const drops = Object.entries(s.drops).map(([r, n]) => `${r} ${n}`).join(', ');
  return `recorded ${secs.toFixed(1)} s to ${file} (${(bytes / 1024).toFixed(1)} KiB)\n`
    + `  events  ${s.events}${names ? ` (${names})` : ''}\n`
    + `  spans   ${s.spans} in ${s.traces} traces\n`
    + `  metrics ${s.metrics} scrapes\n`
    + `  lost    ${drops || 'nothing'}\n`
    + (s.streamEnd ? `  agent stream ended early: ${s.streamEnd}\n` : '');
}

export const recordCommand: Command = {
  name: 'record',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' }, duration: { type: 'string' }, agent: { type: 'string' }, 'agent-token-file': { type: 'string' },
        collector: { type: 'string' }, 'token-file': { type: 'string' }, 'no-events': { type: 'boolean' }, 'no-spans': { type: 'boolean' },
        'metrics-interval': { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' },
      },
    });
    const file = values.output ?? positionals[0];
    if (!file || positionals.length > (values.output ? 0 : 1)) throw new InvalidArgumentError('give the capture file to write: maxpro record -o FILE');
    if (values['no-events'] && values['no-spans']) throw new InvalidArgumentError('--no-events and --no-spans together leave nothing to record');
    const durationSec = values.duration !== undefined ? Number(parseDurationNs(values.duration, '--duration')) / 1e9 : undefined;
    if (durationSec !== undefined && durationSec <= 0) throw new InvalidArgumentError('--duration must be positive');
    const metricsEveryMs = values['metrics-interval'] !== undefined ? Number(parseDurationNs(values['metrics-interval'], '--metrics-interval') / 1_000_000n) : 5000;
    const agentUrl = values['no-events'] ? undefined : values.agent ?? defaultAgentUrl();
    const agentToken = values['agent-token-file'] ? readPrivateTokenFile(values['agent-token-file']) : localCredential('agent').token;
    const collector = values['no-spans'] ? undefined : createQueryClient({ ...(values.collector ? { url: values.collector } : {}), ...(values['token-file'] ? { tokenFile: values['token-file'] } : {}) });
    const writer = createCaptureWriter({ path: file, overwrite: values.force === true });
    const recorder = createCaptureRecorder({
      writer, ...(agentUrl ? { agentUrl } : {}), ...(agentToken !== undefined ? { agentToken } : {}), ...(collector ? { collector } : {}), metricsEveryMs,
      meta: { command: 'record', ...(durationSec !== undefined ? { durationSec } : {}) },
    });
    try {
      await recorder.start(io.signal);
    } catch (err) {
      // Nothing was recorded: leave no file behind.
      try { writer.close(); } catch { /* the start error is the one to report */ }
      rmSync(file, { force: true });
      throw err;
    }
    io.err.write(`maxpro: recording to ${file}${agentUrl ? `, agent ${agentUrl}` : ''}${collector ? `, collector ${collector.url}` : ''}; ${durationSec !== undefined ? `for ${durationSec} s` : 'Ctrl-C stops'}\n`);
    await waitForStop(io.signal, durationSec);
    const summary = await recorder.stop();
    const bytes = writer.stats().bytes;
    io.out.write(values.json ? `${JSON.stringify({ file, bytes, ...summary })}\n` : formatSummary(file, summary, bytes));
    return 0;
  },
};
