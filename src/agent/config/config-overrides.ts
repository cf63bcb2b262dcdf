// SPDX-License-Identifier: Apache-2.0
/**
 * Overrides on top of the config file. Precedence, lowest first: the file,
 * the standard `OTEL_EXPORTER_OTLP_*` variables, `MAXPRO_*` variables, CLI
 * flags. Each override names its source, so a bad value is reported as e.g.
 * `env MAXPRO_HTTP_LISTEN: http.listen: expected host:port`.
 */
import { ConfigError } from '../../lib/errors.js';
import { loadConfigFile, parseConfigText, validateRawConfig } from './load-config.js';
import type { AgentConfig } from './agent-config.js';
import { PROBE_NAMES } from '../../probes/registry.js';

type ValueKind = 'string' | 'int' | 'bool' | 'headers';

interface EnvOverride { env: string; path: string[]; kind: ValueKind }

/** `MAXPRO_*` variables and the config path each sets. */
export const MAXPRO_ENV_OVERRIDES: readonly EnvOverride[] = [
  { env: 'MAXPRO_PIN_DIR', path: ['agent', 'pinDir'], kind: 'string' },
  { env: 'MAXPRO_KEEP_PINNED', path: ['agent', 'keepPinned'], kind: 'bool' },
  { env: 'MAXPRO_DRAIN_TIMEOUT_MS', path: ['agent', 'drainTimeoutMs'], kind: 'int' },
  { env: 'MAXPRO_NODE_NAME', path: ['agent', 'nodeName'], kind: 'string' },
  { env: 'MAXPRO_HTTP_LISTEN', path: ['http', 'listen'], kind: 'string' },
  { env: 'MAXPRO_KUBERNETES', path: ['kubernetes', 'enabled'], kind: 'bool' },
  { env: 'MAXPRO_KUBECONFIG', path: ['kubernetes', 'kubeconfig'], kind: 'string' },
  ...PROBE_NAMES.map((p): EnvOverride => ({ env: `MAXPRO_PROBE_${p.toUpperCase()}`, path: ['probes', p, 'enabled'], kind: 'bool' })),
  { env: 'MAXPRO_POLICY_DEFAULT', path: ['policy', 'default'], kind: 'string' },
  { env: 'MAXPRO_OTLP_ENABLED', path: ['exporters', 'otlp', 'enabled'], kind: 'bool' },
  { env: 'MAXPRO_OTLP_ENDPOINT', path: ['exporters', 'otlp', 'endpoint'], kind: 'string' },
  { env: 'MAXPRO_REMOTE_WRITE_URL', path: ['exporters', 'remoteWrite', 'url'], kind: 'string' },
  { env: 'MAXPRO_REMOTE_WRITE_ENABLED', path: ['exporters', 'remoteWrite', 'enabled'], kind: 'bool' },
];

/** The standard OpenTelemetry exporter variables honoured. */
export const OTEL_ENV_OVERRIDES: readonly EnvOverride[] = [
  { env: 'OTEL_EXPORTER_OTLP_ENDPOINT', path: ['exporters', 'otlp', 'endpoint'], kind: 'string' },
  { env: 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', path: ['exporters', 'otlp', 'logsEndpoint'], kind: 'string' },
  { env: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', path: ['exporters', 'otlp', 'metricsEndpoint'], kind: 'string' },
  { env: 'OTEL_EXPORTER_OTLP_PROTOCOL', path: ['exporters', 'otlp', 'protocol'], kind: 'string' },
  { env: 'OTEL_EXPORTER_OTLP_HEADERS', path: ['exporters', 'otlp', 'headers'], kind: 'headers' },
  { env: 'OTEL_EXPORTER_OTLP_TIMEOUT', path: ['exporters', 'otlp', 'timeoutMs'], kind: 'int' },
];

/** CLI flags of `maxpro agent` / `maxpro up` that override the file. */
interface FlagOverride { flag: string; path: string[]; kind: ValueKind }

export const FLAG_OVERRIDES: readonly FlagOverride[] = [
  { flag: '--listen', path: ['http', 'listen'], kind: 'string' },
  { flag: '--pin-dir', path: ['agent', 'pinDir'], kind: 'string' },
  { flag: '--keep-pinned', path: ['agent', 'keepPinned'], kind: 'bool' },
  { flag: '--no-keep-pinned', path: ['agent', 'keepPinned'], kind: 'bool' },
  { flag: '--otlp-endpoint', path: ['exporters', 'otlp', 'endpoint'], kind: 'string' },
  { flag: '--remote-write-url', path: ['exporters', 'remoteWrite', 'url'], kind: 'string' },
  ...PROBE_NAMES.map((p): FlagOverride => ({ flag: `--no-${p}`, path: ['probes', p, 'enabled'], kind: 'bool' })),
];

function convert(kind: ValueKind, v: string): unknown {
  switch (kind) {
    case 'string': return v;
    case 'int': return /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    case 'bool': {
      const l = v.trim().toLowerCase();
      return ['1', 'true', 'yes', 'on'].includes(l) ? true : ['0', 'false', 'no', 'off'].includes(l) ? false : v;
    }
    case 'headers': {
      // W3C baggage-like: k1=v1,k2=v2 with URL-encoded values.
      const out: Record<string, string> = {};
      for (const part of v.split(',')) {
        const i = part.indexOf('=');
        if (i <= 0) continue;
        out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
      }
      return out;
    }
  }
}

function setIn(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

export interface ConfigSources {
  /** The YAML file; none means defaults only. */
  file?: string;
  /** Environment (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by flag name, e.g. `{ '--listen': '0.0.0.0:9464', '--no-tcp': 'false' }`. */
  flags?: Readonly<Record<string, string>>;
}

export interface ResolvedConfig {
  config: AgentConfig;
  /** Which overrides were applied, e.g. `env MAXPRO_HTTP_LISTEN`. */
  applied: string[];
}

/** Loads the file, applies overrides and validates the result. May throw `ConfigError`. */
export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const env = sources.env ?? process.env;
  const file = sources.file;
  const parsed = file ? loadConfigFile(file) : parseConfigText('', '(defaults)');
  const raw = structuredClone((parsed.raw ?? {}) as Record<string, unknown>);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: the top level must be a mapping`, file ? { file } : {});
  const origin = new Map<string, string>();
  const applied: string[] = [];
  const apply = (src: string, path: string[], kind: ValueKind, v: string): void => {
    setIn(raw, path, convert(kind, v));
    origin.set(path.join('.'), src);
    applied.push(src);
  };
  for (const o of OTEL_ENV_OVERRIDES) {
    const v = env[o.env];
    if (v !== undefined && v !== '') apply(`env ${o.env}`, o.path, o.kind, v);
  }
  if (env.OTEL_EXPORTER_OTLP_PROTOCOL === 'grpc') {
    throw new ConfigError('env OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported by the agent; use http/protobuf or http/json');
  }
  for (const o of MAXPRO_ENV_OVERRIDES) {
    const v = env[o.env];
    if (v !== undefined && v !== '') apply(`env ${o.env}`, o.path, o.kind, v);
  }
  for (const f of FLAG_OVERRIDES) {
    const v = sources.flags?.[f.flag];
    if (v !== undefined) apply(`flag ${f.flag}`, f.path, f.kind, f.flag.startsWith('--no-') ? String(!(convert('bool', v) as boolean)) : v);
  }
  if (applied.length === 0) return { config: parsed.config, applied };
  const config = validateRawConfig(raw, file ?? '(defaults)', (p) => {
    for (let n = p.length; n > 0; n--) {
      const src = origin.get(p.slice(0, n).join('.'));
      if (src) return src;
    }
    return undefined;
  });
  return { config, applied };
}
