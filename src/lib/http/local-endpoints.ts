// SPDX-License-Identifier: Apache-2.0
/**
 * Where the CLI finds this node's agent and collector without flags: their
 * state directory holds each one's token file and, while it runs, an
 * endpoint file (`agent.json`, `collector.json`: URL and token file) written
 * by `maxpro agent`, `maxpro collector` and `maxpro up`.
 *
 * Order for a client: explicit value (flag), then the environment
 * (`MAXPRO_<SERVICE>_URL`, `MAXPRO_<SERVICE>_TOKEN`, `MAXPRO_<SERVICE>_TOKEN_FILE`),
 * then the endpoint file, then the default address and token file.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readPrivateTokenFile } from './token-file.js';

export type LocalService = 'agent' | 'collector';

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_URL: Record<LocalService, string> = { agent: 'http://127.0.0.1:9464', collector: 'http://127.0.0.1:4318' };

/** `$MAXPRO_STATE_DIR`; else /var/lib/maxpro for root; else `$XDG_STATE_HOME/maxpro` (~/.local/state/maxpro). */
export function stateDir(env: Env = process.env): string {
  if (env.MAXPRO_STATE_DIR) return env.MAXPRO_STATE_DIR;
  if (process.getuid?.() === 0) return '/var/lib/maxpro';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'maxpro');
}

/** The token file a service uses when none is configured: `<state dir>/<service>.token`. */
export function defaultTokenFile(service: LocalService, env: Env = process.env): string {
  return join(stateDir(env), `${service}.token`);
}

/** What a running service wrote about itself. */
export interface LocalEndpoint {
  url: string;
  /** The token file it accepts, when it uses one. */
  tokenFile?: string;
  /** OTLP/gRPC URL (collector). */
  grpcUrl?: string;
  pid: number;
}

function endpointFile(service: LocalService, env: Env): string {
  return join(stateDir(env), `${service}.json`);
}

/**
 * Records a running service's endpoint for the CLI; returns a function that
 * removes the record again (only while it is still this process's).
 * Failing to write it is not fatal: the CLI then falls back to its defaults.
 */
export function publishLocalEndpoint(service: LocalService, endpoint: Omit<LocalEndpoint, 'pid'>, env: Env = process.env): () => void {
  const file = endpointFile(service, env);
  const body = JSON.stringify({ ...endpoint, pid: process.pid });
  try {
    mkdirSync(stateDir(env), { recursive: true, mode: 0o755 });
    writeFileSync(`${file}.${process.pid}`, `${body}\n`, { mode: 0o644 });
    renameSync(`${file}.${process.pid}`, file);
  } catch {
    return () => undefined;
  }
  return () => {
    if (readLocalEndpoint(service, env)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/** The endpoint file of a service whose process still runs, else undefined. */
export function readLocalEndpoint(service: LocalService, env: Env = process.env): LocalEndpoint | undefined {
  let e: LocalEndpoint;
  try {
    e = JSON.parse(readFileSync(endpointFile(service, env), 'utf8')) as LocalEndpoint;
  } catch {
    return undefined;
  }
  if (typeof e?.url !== 'string' || !Number.isInteger(e.pid)) return undefined;
  try {
    process.kill(e.pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return e;
}

/** The URL of this node's service: `$MAXPRO_<SERVICE>_URL`, its endpoint file, else the default. */
export function localServiceUrl(service: LocalService, env: Env = process.env): string {
  return env[`MAXPRO_${service.toUpperCase()}_URL`] || readLocalEndpoint(service, env)?.url || DEFAULT_URL[service];
}

/** A client's credential for a service, and what stood in the way when there is none. */
export interface LocalCredential {
  token?: string;
  /** Why no token was found (e.g. the token file is root's), for the error shown on a 401. */
  problem?: string;
}

/**
 * The bearer token to send: `explicit` (a --token-file flag's file), then
 * `$MAXPRO_<SERVICE>_TOKEN`, `$MAXPRO_<SERVICE>_TOKEN_FILE`, the endpoint
 * file's token file, else the default token file. Never throws: a token file
 * that cannot be read becomes `problem`.
 */
export function localCredential(service: LocalService, options: { tokenFile?: string; env?: Env } = {}): LocalCredential {
  const env = options.env ?? process.env;
  const prefix = `MAXPRO_${service.toUpperCase()}`;
  if (!options.tokenFile && env[`${prefix}_TOKEN`]) return { token: env[`${prefix}_TOKEN`] };
  const file = options.tokenFile || env[`${prefix}_TOKEN_FILE`] || readLocalEndpoint(service, env)?.tokenFile || defaultTokenFile(service, env);
  try {
    return { token: readPrivateTokenFile(file) };
  } catch (err) {
    const why = (err as { cause?: NodeJS.ErrnoException }).cause?.code === 'EACCES'
      ? `${file} is not readable by this user (run as its owner, e.g. with sudo)` : (err as Error).message;
    return { problem: `no ${service} token: ${why}; or set ${prefix}_TOKEN or ${prefix}_TOKEN_FILE` };
  }
}
