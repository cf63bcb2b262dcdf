// SPDX-License-Identifier: Apache-2.0
/**
 * The agent side of the exec benchmark, run as its own process so that its
 * CPU and RSS are measured alone: the full process pipeline (probe, cache,
 * cgroup and container identity, redaction, ancestry). Counts the execs of
 * `/bin/true a1 a2` per parent pid, and whether argv was complete.
 * IPC: receives 'stats' and answers with counts; 'stop' closes and exits.
 */
import { createProcessPipeline } from '../../src/probes/process/process-pipeline.js';

const complete = new Map<number, number>(); // ppid -> execs with exact argv
const seen = new Map<number, number>(); // ppid -> execs of /bin/true
const MAX_PARENTS = 1024;

function bump(m: Map<number, number>, k: number): void {
  const v = m.get(k);
  if (v !== undefined) m.set(k, v + 1);
  else if (m.size < MAX_PARENTS) m.set(k, 1);
}

const pipeline = await createProcessPipeline({
  kubernetes: false,
  onRecords: (records) => {
    for (const r of records) {
      if (r['event.name'] !== 'process.exec' || r['process.executable.path'] !== '/bin/true') continue;
      const ppid = r['process.parent_pid'];
      bump(seen, ppid);
      const a = r['process.command_args'];
      if (a && a.length === 3 && a[0] === '/bin/true' && a[1] === 'a1' && a[2] === 'a2' && !r['maxpro.args.truncated']) bump(complete, ppid);
    }
  },
});

process.on('message', (msg: unknown) => {
  if (msg === 'stats') {
    pipeline.flush();
    const s = pipeline.stats();
    process.send?.({ seen: Object.fromEntries(seen), complete: Object.fromEntries(complete), lost: s.probe.lost.total, lostBy: { ...s.probe.lost.kernel, reader: s.probe.lost.reader, decode: s.probe.lost.decode }, events: s.probe.events, cache: s.cache.entries, memory: process.memoryUsage() });
  } else if (msg === 'stop') {
    void pipeline.close().then(() => process.exit(0));
  }
});
process.send?.('ready');
