// SPDX-License-Identifier: Apache-2.0
/** `maxpro doctor`: can the agent run on this node, and what is missing. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { runDoctor } from '../../doctor/run-doctor.js';
import type { DoctorReport } from '../../doctor/run-doctor.js';

const HELP = `USAGE: maxpro doctor [--json] [--fix]

Checks that the agent can run here: kernel version and BTF, bpffs and tracefs
mounts, capabilities, lockdown, memlock, where pod metadata would come from
(in a pod: the service account and NODE_NAME), ring buffer support, and each
hook kind (tracepoint, raw tracepoint, tp_btf, kprobe, fentry, uprobe,
perf_event, XDP, TC, cgroup, socket filter) by loading a real program.
Exits 1 when a required check fails, and says how to fix it.

FLAGS:
  --json   print the report as JSON
  --fix    mount bpffs and tracefs when they are missing (root)

EXAMPLES:
  maxpro doctor            # human table
  maxpro doctor --fix      # mount what is missing, then check
  maxpro doctor --json | jq '.checks[] | select(.status != "ok")'
`;

const MARK: Record<string, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', unavailable: 'n/a' };

/** Renders the report as an aligned table plus a fix list. */
export function formatDoctorReport(r: DoctorReport): string {
  const w1 = Math.max(...r.checks.map((c) => c.title.length), 5);
  const lines = [`kernel ${r.kernel}${r.libbpf ? `, libbpf ${r.libbpf}` : ''}`, '', `${'CHECK'.padEnd(w1)}  STATUS  DETAIL`];
  for (const c of r.checks) lines.push(`${c.title.padEnd(w1)}  ${(MARK[c.status] ?? c.status).padEnd(6)}  ${c.detail}`);
  const fixes = r.checks.filter((c) => c.fix && (c.status === 'fail' || c.status === 'warn'));
  if (fixes.length) {
    lines.push('', 'TO FIX:');
    for (const c of fixes) lines.push(`  ${c.required && c.status === 'fail' ? '(required) ' : ''}${c.title}: ${c.fix}`);
  }
  lines.push('', r.ok ? 'The agent can run on this node.' : `The agent cannot run: ${r.checks.filter((c) => c.required && c.status === 'fail').map((c) => c.title).join(', ')} failed.`);
  return `${lines.join('\n')}\n`;
}

export const doctorCommand: Command = {
  name: 'doctor',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, fix: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } }, strict: true });
    const report = runDoctor({ fix: values.fix ?? false });
    io.out.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    return report.ok ? 0 : 1;
  },
};
