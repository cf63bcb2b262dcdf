// SPDX-License-Identifier: Apache-2.0
/**
 * The server-side filters of `GET /stream`, as query parameters. The agent
 * parses them (400 on a bad one) and tests each event before serialising
 * it; the client builds the same parameters. Every filter is cheap: numeric
 * fields first, attributes (built once per event and reused for the JSON
 * line) only when a filter needs them.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { matchesWorkload } from '../../lib/workload-match.js';
import type { AgentEvent, AgentProbeName } from '../agent-event.js';
import { PROBE_NAMES, probeModule } from '../../probes/registry.js';
import type { StreamFilter } from '../../lib/stream-filter-spec.js';

export type { StreamFilter } from '../../lib/stream-filter-spec.js';

const PROBES: readonly AgentProbeName[] = PROBE_NAMES;
const KEYS = ['probe', 'name', 'comm', 'pid', 'container', 'pod', 'namespace', 'failed', 'port', 'min_latency_ms', 'kept'] as const;

function bool(key: string, v: string): boolean {
  if (v === '' || v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new InvalidArgumentError(`stream filter ${key}=${v}: expected true or false`);
}

function uint(key: string, v: string, max: number): number {
  const n = Number(v);
  if (v === '' || !Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`stream filter ${key}=${v}: expected an integer in 0..${max}`);
  return n;
}

/** Parses the query of a `/stream` request. May throw `InvalidArgumentError` (unknown or bad parameter). */
export function parseStreamFilter(q: URLSearchParams): StreamFilter {
  const f: StreamFilter = {};
  for (const [key, v] of q) {
    switch (key as (typeof KEYS)[number]) {
      case 'probe':
        if (!PROBES.includes(v as AgentProbeName)) throw new InvalidArgumentError(`stream filter probe=${v}: expected one of ${PROBES.join(', ')}`);
        f.probe = v as AgentProbeName;
        break;
      case 'name': f.name = v; break;
      case 'comm': f.comm = v; break;
      case 'pid': f.pid = uint(key, v, 2 ** 32 - 1); break;
      case 'container': f.container = v; break;
      case 'pod': f.pod = v; break;
      case 'namespace': f.namespace = v; break;
      case 'failed': f.failed = bool(key, v); break;
      case 'port': f.port = uint(key, v, 65535); break;
      case 'min_latency_ms': {
        const ms = Number(v);
        if (v === '' || !Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`stream filter ${key}=${v}: expected a number >= 0`);
        f.minLatencyNs = ms * 1e6;
        break;
      }
      case 'kept': f.kept = bool(key, v); break;
      default:
        // Strict, so that a client newer than the agent learns its filter is not applied.
        throw new InvalidArgumentError(`stream filter ${key}: unknown (known: ${KEYS.join(', ')})`);
    }
  }
  return f;
}

/** The query parameters of a filter (the inverse of `parseStreamFilter`). */
export function streamFilterParams(f: StreamFilter): URLSearchParams {
  const q = new URLSearchParams();
  if (f.probe !== undefined) q.set('probe', f.probe);
  if (f.name !== undefined) q.set('name', f.name);
  if (f.comm !== undefined) q.set('comm', f.comm);
  if (f.pid !== undefined) q.set('pid', String(f.pid));
  if (f.container !== undefined) q.set('container', f.container);
  if (f.pod !== undefined) q.set('pod', f.pod);
  if (f.namespace !== undefined) q.set('namespace', f.namespace);
  if (f.failed) q.set('failed', 'true');
  if (f.port !== undefined) q.set('port', String(f.port));
  if (f.minLatencyNs !== undefined) q.set('min_latency_ms', String(f.minLatencyNs / 1e6));
  if (f.kept) q.set('kept', 'true');
  return q;
}

/** Whether an enriched event passes a filter (`kept` is the caller's business). */
export function matchesStreamFilter(e: AgentEvent, f: StreamFilter): boolean {
  if (f.probe !== undefined && e.probe !== f.probe) return false;
  if (f.name !== undefined && !e.name.startsWith(f.name)) return false;
  // failed, port and min latency mean something per probe: its module decides (none: no event passes).
  const stream = probeModule(e.probe)?.stream;
  if ((f.failed || f.port !== undefined || f.minLatencyNs !== undefined) && !(stream?.matches?.(e, f) ?? false)) return false;
  const w = e.workload.attributes;
  if (!matchesWorkload(w.container, w.pod, w.namespace, f, e.workload.podName)) return false;
  if (f.comm !== undefined && e.comm !== f.comm && !(e.exe !== undefined && basename(e.exe) === f.comm)) return false;
  if (f.pid !== undefined && e.tgid !== f.pid && stream?.parentPid?.(e) !== f.pid) return false;
  return true;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * Whether a subscriber may want records of `probe` beyond those the export
 * policy keeps: its `probe` filter is unset or names it, its `name` prefix
 * can match the probe's events, and it did not ask for `kept` only (what the
 * policy keeps always leaves the kernel).
 */
export function wantsProbeRecords(f: StreamFilter, probe: AgentProbeName): boolean {
  if (f.kept) return false;
  if (f.probe !== undefined && f.probe !== probe) return false;
  const prefix = `${probe}.`;
  return f.name === undefined || f.name.startsWith(prefix) || prefix.startsWith(f.name);
}

/**
 * What a subscriber needs from each probe's kernel side, by probe (probes
 * whose module asks for nothing more are left out): none for a probe it does
 * not want records of, or only what the export policy keeps (the policy's
 * kernel settings already let that through).
 */
export function streamDemandsOf(f: StreamFilter): Map<AgentProbeName, unknown> {
  const out = new Map<AgentProbeName, unknown>();
  for (const p of PROBES) {
    if (!wantsProbeRecords(f, p)) continue;
    const d = probeModule(p)?.stream?.demandOf(f);
    if (d !== undefined) out.set(p, d);
  }
  return out;
}
