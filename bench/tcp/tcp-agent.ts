// SPDX-License-Identifier: Apache-2.0
/**
 * The agent side of the TCP benchmark, in its own process so that its CPU
 * and RSS are its own: loads the TCP probe, and once a second reads every
 * aggregate and renders it as Prometheus text, as an exporting agent would.
 * Talks to the benchmark over IPC:
 *   `on` / `off`   attach / detach the probe's programs (and pause the
 *                  exporter while off), so that samples with and without the
 *                  agent alternate within one process lifetime;
 *   `mark`         starts a measurement window, `report` ends it and
 *                  answers with the figures.
 */
import { enableBpfStats } from '../../src/ebpf/index.js';
import { createTcpProbe, tcpProbeLost } from '../../src/probes/tcp/tcp-probe.js';
import { createTcpMetrics } from '../../src/probes/tcp/tcp-metrics.js';
import { renderExposition } from '../../src/exporters/openmetrics/exposition.js';
import { createCgroupIdentity } from '../../src/enrich/cgroup-identity.js';

interface Mark { cpu: NodeJS.CpuUsage; bpfNs: bigint; wall: bigint }

const withStats = process.argv.includes('--bpf-stats');
const stats = withStats ? enableBpfStats() : undefined;
const probe = createTcpProbe({});
const programs = probe.object.links.map((l) => l.program);
const identity = await createCgroupIdentity();
const metrics = createTcpMetrics({ probe, identify: identity.identify });
let rendered = 0;
let timer: NodeJS.Timeout | undefined;
const startExporter = (): void => {
  timer ??= setInterval(() => {
    rendered += renderExposition(metrics.collect(), 'prometheus').length;
  }, 1000);
};
startExporter();

let mark: Mark | undefined;
process.on('message', (msg: unknown) => {
  if (msg === 'off') {
    for (const l of [...probe.object.links]) l.destroy();
    clearInterval(timer);
    timer = undefined;
    process.send?.('done');
  } else if (msg === 'on') {
    if (probe.object.links.length === 0) for (const p of programs) probe.object.program(p).attachTrace();
    startExporter();
    process.send?.('done');
  } else if (msg === 'mark') {
    mark = { cpu: process.cpuUsage(), bpfNs: probe.bpfRunTimeNs(), wall: process.hrtime.bigint() };
    process.send?.('marked');
  } else if (msg === 'report' && mark) {
    const cpu = process.cpuUsage(mark.cpu);
    const st = probe.stats();
    const lost = tcpProbeLost(st);
    process.send?.({
      userUs: cpu.user,
      systemUs: cpu.system,
      bpfNs: Number(probe.bpfRunTimeNs() - mark.bpfNs),
      wallNs: Number(process.hrtime.bigint() - mark.wall),
      rssBytes: process.memoryUsage().rss,
      lost,
      lostByReason: { ...Object.fromEntries(Object.entries(st.kernelDrops).map(([k, v]) => [k, Number(v)])), reader: st.readerDrops },
      records: st.records,
      globals: probe.globals(),
      rendered,
    });
  } else if (msg === 'exit') {
    clearInterval(timer);
    void probe.close().then(() => {
      stats?.close();
      process.exit(0);
    });
  }
});
process.send?.('ready');
