// SPDX-License-Identifier: Apache-2.0
/** `maxpro collector`: run the OTLP/HTTP span collector with its embedded store. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { createCollector, defaultDataDir, type CollectorAuthOptions } from '../../collector/collector.js';
import { parseDurationNs } from '../../collector/query-api.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { defaultTokenFile, publishLocalEndpoint } from '../../lib/http/local-endpoints.js';
import { ensureTokenFile, readPrivateTokenFile } from '../../lib/http/token-file.js';

const HELP = `USAGE: maxpro collector [flags]

Receives OTLP/HTTP (protobuf or JSON, gzip or plain) on /v1/traces, /v1/logs
and /v1/metrics, stores it in an embedded SQLite store, and serves the query
API under /api/. Every request needs a bearer token or an X-MaxPro-Auth key
unless --no-auth is given. Without --token-file, --api-key-file or their
variables, the token is the one in ${defaultTokenFile('collector')}
(mode 0600, created on first start), which \`maxpro services\` and
\`maxpro traces\` read by default. Runs until interrupted.

FLAGS:
  --host <addr>          listen address (default 127.0.0.1)
  --port <n>             OTLP/HTTP and query API port (default 4318)
  --grpc-port <n>        OTLP/gRPC port (default 4317; a free one with --port 0; 'off' turns it off)
  --data-dir <dir>       store directory (default ${defaultDataDir()})
  --token-file <file>    file holding the bearer token, mode 0600 (or set MAXPRO_COLLECTOR_TOKEN)
  --api-key-file <file>  file holding an X-MaxPro-Auth key (or set MAXPRO_COLLECTOR_API_KEY)
  --no-auth              accept unauthenticated requests (prints a warning)
  --tls-cert <file>      serve HTTPS with this PEM certificate ...
  --tls-key <file>       ... and this PEM key
  --max-age <dur>        delete data older than this (default 7d)
  --max-size <bytes>     delete the oldest data beyond this size, e.g. 10GiB (default 10GiB)
  --max-body <bytes>     largest request body on the wire (default 4MiB)
  --max-inflated <bytes> largest gzip body once inflated (default 32MiB)
  --baggage-keys <k,..>  baggage keys copied onto spans as attributes
  --fsync                fsync each commit (survives power loss; slower)

EXAMPLES:
  maxpro collector
  MAXPRO_COLLECTOR_TOKEN=s3cret maxpro collector
  maxpro collector --port 0 --data-dir /var/lib/maxpro --token-file /etc/maxpro/token
  maxpro collector --no-auth --baggage-keys tenant,session.id   # local development only
`;

/** Parses `10GiB`, `512MiB`, `4MB`, `1000`. */
export function parseBytes(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?$/i.exec(s.trim());
  if (!m) throw new InvalidArgumentError(`${what} '${s}' is not a size like 4MiB or 10GiB`);
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
  return Math.floor(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]!);
}

function secret(file: string | undefined, env: string | undefined): string | undefined {
  if (file) return readPrivateTokenFile(file);
  return env && env !== '' ? env : undefined;
}

export const collectorCommand: Command = {
  name: 'collector',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: 'string' }, port: { type: 'string' }, 'grpc-port': { type: 'string' }, 'data-dir': { type: 'string' },
        'token-file': { type: 'string' }, 'api-key-file': { type: 'string' }, 'no-auth': { type: 'boolean' },
        'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'max-age': { type: 'string' }, 'max-size': { type: 'string' },
        'max-body': { type: 'string' }, 'max-inflated': { type: 'string' }, 'baggage-keys': { type: 'string' }, fsync: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
      },
    });
    const port = values.port === undefined ? 4318 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port '${values.port}' must be 0..65535`);
    const grpcPort = values['grpc-port'] === undefined ? undefined : values['grpc-port'] === 'off' ? false as const : Number(values['grpc-port']);
    if (typeof grpcPort === 'number' && (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535)) {
      throw new InvalidArgumentError(`--grpc-port '${values['grpc-port']}' must be 0..65535 or off`);
    }
    if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
    const token = secret(values['token-file'], process.env.MAXPRO_COLLECTOR_TOKEN);
    const apiKey = secret(values['api-key-file'], process.env.MAXPRO_COLLECTOR_API_KEY);
    let auth: CollectorAuthOptions;
    let tokenFile = values['token-file'];
    if (values['no-auth']) auth = { disabled: true };
    else if (token || apiKey) auth = { tokens: token ? [token] : [], apiKeys: apiKey ? [apiKey] : [] };
    else {
      tokenFile = defaultTokenFile('collector');
      auth = { tokens: [ensureTokenFile(tokenFile)] };
    }
    const collector = await createCollector({
      host: values.host ?? '127.0.0.1',
      port,
      ...(grpcPort !== undefined ? { grpcPort } : {}),
      dataDir: values['data-dir'] ?? defaultDataDir(),
      auth,
      log: (line) => io.err.write(`${line}\n`),
      ...(values['tls-cert'] ? { tls: { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']!) } } : {}),
      limits: {
        ...(values['max-body'] ? { maxBodyBytes: parseBytes(values['max-body'], '--max-body') } : {}),
        ...(values['max-inflated'] ? { maxDecompressedBytes: parseBytes(values['max-inflated'], '--max-inflated') } : {}),
      },
      retention: {
        ...(values['max-age'] ? { maxAgeMs: Number(parseDurationNs(values['max-age'], '--max-age') / 1_000_000n) } : {}),
        ...(values['max-size'] ? { maxBytes: parseBytes(values['max-size'], '--max-size') } : {}),
        fsync: values.fsync ?? false,
      },
      ...(values['baggage-keys'] ? { baggage: { allowKeys: values['baggage-keys'].split(',').map((k) => k.trim()).filter(Boolean) } } : {}),
    });
    io.out.write(`maxpro collector listening on ${collector.url} (OTLP/HTTP: ${collector.url}/v1/traces)${collector.grpcUrl ? `, OTLP/gRPC on ${collector.grpcUrl}` : ''}\n`);
    if (tokenFile) io.out.write(`token: ${tokenFile} (send Authorization: Bearer <its content>)\n`);
    const unpublish = publishLocalEndpoint('collector', { url: collector.url, ...(collector.grpcUrl ? { grpcUrl: collector.grpcUrl } : {}), ...(tokenFile ? { tokenFile } : {}) });
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    unpublish();
    await collector.close();
    return 0;
  },
};
