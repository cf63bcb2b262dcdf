// SPDX-License-Identifier: Apache-2.0
// The agent's systemd unit and its [Service] directives, for the tests that hold it to the probes' capability list.
import { fileURLToPath } from 'node:url';

export const UNIT_FILE = fileURLToPath(new URL('../../../deploy/systemd/maxpro-agent.service', import.meta.url));

/** Directive -> values in order (a directive may repeat), from the [Service] section. */
export function unitDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return out;
}

/** The unit's ambient capabilities, e.g. ['CAP_BPF', 'CAP_PERFMON']. */
export function unitAmbientCapabilities(text: string): string[] {
  return (unitDirectives(text).get('AmbientCapabilities') ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
}
