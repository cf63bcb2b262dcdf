// SPDX-License-Identifier: Apache-2.0
// Pod metadata in the agent: pods created through a real kube-apiserver (test/helpers/kube-control-plane.ts)
// with spec.nodeName set to this node (no kubelet), and two real cgroups laid out as the kubelet lays
// out those pods' containers (systemd driver). A policy keeping `app=payment` sees the pods' labels:
// the payment pod's execs are exported with its name, namespace and owner and its TCP metrics carry
// its name, namespace and the pod labels the config names; the other pod's records are filtered in the kernel (the allow list is built
// from pod labels). A label change, a pod deletion and an API server restart are followed over the
// watch, without a reload or a restart of the agent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer } from 'node:net';
import { kernelSkip, sleep, waitFor } from '../../helpers/kernel.js';
import { readNdjson } from '../../helpers/ndjson.js';
import { controlPlaneSkip, startControlPlane } from '../../helpers/kube-control-plane.js';
import type { ControlPlane } from '../../helpers/kube-control-plane.js';
import { createAgent } from '../../../src/agent/agent.js';
import type { Agent } from '../../../src/agent/agent.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import { localCredential } from '../../../src/lib/http/local-endpoints.js';

const root = findCgroup2Mount();
const skip = kernelSkip() || (root ? false : 'needs a cgroup2 mount') || controlPlaneSkip();
const NODE = 'node-under-test';
const BIN = fileURLToPath(new URL('../../../../bin/maxpro.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('./connect-client.js', import.meta.url));

interface TestPod { uid: string; name: string; namespace: string; nodeName: string; labels: Record<string, string>; owner?: { kind: string; name: string } }

/** A pod's container cgroup as the kubelet (systemd driver) and containerd name it. */
function podCgroup(base: string, uid: string, hexDigit: string): string {
  return `${base}/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${hexDigit.repeat(64)}.scope`;
}

describe('agent: pod metadata from the cluster in labels, selectors and the kernel cgroup list', { skip, timeout: 60_000 }, () => {
  const base = `/maxpro-k8s-test-${process.pid}`;
  // UIDs are given by the API server when the pods are created.
  const payment: TestPod = {
    uid: '', name: 'checkout-5f7d8-abcde', namespace: 'shop', nodeName: NODE,
    labels: { 'app': 'payment', 'pod-template-hash': '5f7d8' }, owner: { kind: 'ReplicaSet', name: 'checkout-5f7d8' },
  };
  const other: TestPod = { uid: '', name: 'batch-0', namespace: 'jobs', nodeName: NODE, labels: { app: 'batch' } };
  const elsewhere: TestPod = { uid: '', name: 'far-0', namespace: 'shop', nodeName: 'another-node', labels: { app: 'payment' } };
  let pathA = '';
  let pathB = '';
  let dirA = '';
  let dirB = '';
  let idA = 0;
  let idB = 0;
  let cp: ControlPlane;
  let tcpServer: TcpServer;
  let tcpPort = 0;
  const createPod = async (p: TestPod): Promise<string> => {
    const made = await cp.must('POST', `/api/v1/namespaces/${p.namespace}/pods`, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: p.name, labels: p.labels,
        ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: '00000000-0000-4000-8000-0000000000ff', controller: true }] } : {}),
      },
      spec: { nodeName: p.nodeName, containers: [{ name: 'c', image: 'registry.invalid/x:1' }] },
    }) as { metadata: { uid: string } };
    return made.metadata.uid;
  };
  let agent: Agent;
  const kept: LiveStreamEvent[] = [];
  const logs: string[] = [];
  const abort = new AbortController();
  let configText = '';
  // OTLP/JSON log records the agent exports, as attribute maps.
  const exported: Record<string, unknown>[] = [];
  let rx: Server;

  const metric = (name: string, labels: Record<string, string> = {}): number | undefined => {
    const s = agent.collect().find((f) => f.name === name)?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return s && 'value' in s ? s.value : undefined;
  };
  /** Client connections opened, summed over the TCP series whose labels include `want`. */
  const opened = (want: Record<string, string>): number => agent.collect().find((f) => f.name === 'maxpro_tcp_connections_opened')?.samples
    .filter((s) => s.labels.direction === 'client' && Object.entries(want).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + ('value' in s ? s.value : 0), 0) ?? 0;
  /** Opens `n` connections to the test listener from a process inside `dir`. */
  const connectFrom = async (dir: string, n: number): Promise<void> => {
    const child = spawn(process.execPath, [CLIENT, dir, '127.0.0.1', String(tcpPort), String(n)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    assert.equal(await new Promise<number | null>((r) => child.on('close', r)), 0, err);
  };
  const filtered = (): number => metric('maxpro_policy_kernel_filtered_events', { probe: 'process', reason: 'cgroup_not_allowed' }) ?? 0;
  const execsIn = (id: number): LiveStreamEvent[] => kept.filter((e) => e.cgroupId === id && e.name === 'process.exec');
  /** Runs /bin/true twice inside `dir` (the shell moves itself there first). */
  const runIn = async (dir: string): Promise<void> => {
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && /bin/true && /bin/true`], { stdio: 'ignore' });
    assert.equal(await new Promise<number | null>((r) => child.on('close', r)), 0);
  };
  /**
   * Waits until the process probe's allow list holds the cgroups of `n` selected pods: each pod's
   * slice and its container's scope (both carry the pod UID). Pod changes rewrite it within ~1 s.
   */
  const listHolds = (n: number): Promise<boolean> => waitFor(() => metric('maxpro_policy_cgroup_filter_cgroups', { probe: 'process' }) === 2 * n, 5000);

  before(async () => {
    cp = await startControlPlane();
    for (const name of ['shop', 'jobs']) await cp.must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    for (const p of [payment, other, elsewhere]) p.uid = await createPod(p);
    pathA = podCgroup(base, payment.uid, 'a');
    pathB = podCgroup(base, other.uid, 'b');
    dirA = `${root}${pathA}`;
    dirB = `${root}${pathB}`;
    mkdirSync(dirA, { recursive: true });
    mkdirSync(dirB, { recursive: true });
    idA = statSync(dirA).ino;
    idB = statSync(dirB).ino;
    tcpServer = createTcpServer((s) => s.resume().on('error', () => undefined));
    await new Promise<void>((r) => tcpServer.listen(0, '127.0.0.1', r));
    tcpPort = (tcpServer.address() as { port: number }).port;
    rx = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        if (req.url === '/v1/logs') {
          type Attr = { key: string; value: Record<string, unknown> };
          const msg = JSON.parse(body) as { resourceLogs?: { scopeLogs?: { logRecords?: { attributes?: Attr[] }[] }[] }[] };
          for (const rl of msg.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) {
            exported.push(Object.fromEntries((lr.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]])));
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    configText = [
      'agent:', `  pinDir: /sys/fs/bpf/maxpro-agent-k8s-${process.pid}`, '  keepPinned: false', `  nodeName: ${NODE}`,
      'kubernetes:', `  kubeconfig: ${cp.kubeconfig}`,
      'probes:', '  tcp: { enabled: true, metrics: { podLabels: [app, pod-template-hash] } }',
      'http:', '  listen: 127.0.0.1:0', '  pprof: false',
      'exporters:', '  otlp:', '    enabled: true', `    endpoint: http://127.0.0.1:${(rx.address() as { port: number }).port}`,
      '    protocol: http/json', '    flushIntervalMs: 100',
      'policy:', '  default: drop', '  rules:', '    - name: payments', '      selector: app=payment', '      action: keep',
    ].join('\n');
    const { config } = parseConfigText(configText, 'k8s.yaml');
    agent = await createAgent({ config, log: (l) => logs.push(l) });
    const res = await fetch(`${agent.url}/stream?probe=process&kept=true`, { signal: abort.signal, headers: { authorization: `Bearer ${localCredential('agent').token}` } });
    assert.equal(res.status, 200);
    readNdjson(res, (l) => {
      const e = l as LiveStreamEvent & { stream?: unknown };
      if (e.stream === undefined) kept.push(e);
    });
  });

  after(async () => {
    abort.abort();
    await agent?.shutdown();
    await cp?.close();
    await new Promise<void>((r) => (tcpServer ? tcpServer.close(() => r()) : r()));
    rx?.closeAllConnections();
    await new Promise<void>((r) => (rx ? rx.close(() => r()) : r()));
    await sleep(50);
    // Leaves first: a cgroup directory goes only once empty.
    for (const p of [pathA, pathB].filter(Boolean)) {
      for (let d = p; d !== base && d.startsWith(base); d = d.slice(0, d.lastIndexOf('/'))) {
        try { if (existsSync(`${root}${d}`)) rmdirSync(`${root}${d}`); } catch { /* a sibling is still there, or a child still exiting */ }
      }
    }
    try { rmdirSync(`${root}${base}`); } catch { /* as above */ }
  });

  test('the agent lists this node\'s pods through the kubeconfig and watches them', async () => {
    // The first list follows loading the client library, which takes seconds on a busy machine.
    assert.ok(await waitFor(() => metric('maxpro_kubernetes_pods', { state: 'watching' }) === 2, 20_000),
      `two pods of ${NODE} held: ${JSON.stringify(agent.collect().find((f) => f.name === 'maxpro_kubernetes_pods')?.samples)}; ${logs.join(' | ')}`);
    // The pod of another node (same labels) is not held: the list asks for this node's pods only.
    // The agent starts the watch in the background: the notice follows the list.
    const watching = new RegExp(`kubernetes: watching pods on node ${NODE} \\(2 now\\)`);
    assert.ok(await waitFor(() => watching.test(logs.join('\n')), 3000), logs.join(' | '));
  });

  test('pod labels select: the payment pod is exported with its identity; the other is filtered in the kernel', async () => {
    assert.ok(await listHolds(1), `the allow list holds the payment pod's cgroups (size ${metric('maxpro_policy_cgroup_filter_cgroups', { probe: 'process' })}); ${logs.join(' | ')}`);
    const before = filtered();
    await runIn(dirA);
    await runIn(dirB);
    assert.ok(await waitFor(() => execsIn(idA).length >= 2, 3000), `the payment pod's execs are kept (${kept.length} kept)`);
    await sleep(300);
    const e = execsIn(idA)[0]!;
    assert.deepEqual(e.labels, payment.labels);
    assert.equal(e.workload.namespace, 'shop');
    assert.equal(e.workload.workload, 'checkout', 'the ReplicaSet owner is shown as its Deployment');
    assert.equal(e.workload.pod, payment.uid);
    assert.equal(e.workload.podName, payment.name);
    assert.equal(e.workload.container, 'a'.repeat(64));
    assert.equal(kept.filter((x) => x.cgroupId === idB).length, 0);
    // The exported log records name the pod as OpenTelemetry's Kubernetes conventions do.
    assert.ok(await waitFor(() => exported.some((a) => a['maxpro.cgroup.id'] === idA || a['maxpro.cgroup.id'] === String(idA)), 3000), `${exported.length} log records exported`);
    const rec = exported.find((a) => a['maxpro.cgroup.id'] === idA || a['maxpro.cgroup.id'] === String(idA))!;
    assert.equal(rec['k8s.pod.name'], payment.name);
    assert.equal(rec['k8s.pod.uid'], payment.uid);
    assert.equal(rec['k8s.namespace.name'], 'shop');
    assert.equal(rec['maxpro.label.app'], 'payment');
    assert.equal(exported.filter((a) => a['k8s.pod.uid'] === other.uid).length, 0);
    // The other pod's shell exit, forks, execs and exits, at least.
    assert.ok(filtered() - before >= 7, `filtered in the kernel: ${filtered() - before}`);
  });

  test('TCP metrics of the payment pod carry its name, namespace and the configured pod labels', async () => {
    const want = { pod: payment.name, namespace: 'shop', label_app: 'payment', label_pod_template_hash: '5f7d8' };
    const before = opened(want);
    await connectFrom(dirA, 3);
    assert.ok(await waitFor(() => opened(want) - before >= 3, 5000),
      `opened ${opened(want) - before}; samples ${JSON.stringify(agent.collect().find((f) => f.name === 'maxpro_tcp_connections_opened')?.samples)}`);
  });

  test('a label change over the watch moves a pod into the selection without a reload', async () => {
    await cp.must('PATCH', `/api/v1/namespaces/jobs/pods/${other.name}`, { metadata: { labels: { app: 'payment' } } }, 'application/merge-patch+json');
    assert.ok(await listHolds(2), 'both pods\' cgroups in the allow list');
    await runIn(dirB);
    assert.ok(await waitFor(() => execsIn(idB).length >= 2, 3000), 'the relabelled pod\'s execs are kept');
    const e = execsIn(idB)[0]!;
    assert.deepEqual(e.labels, { app: 'payment' });
    assert.equal(e.workload.namespace, 'jobs');
    assert.equal(e.workload.podName, other.name);
    // Its TCP metrics carry the new label value.
    const want = { pod: other.name, namespace: 'jobs', label_app: 'payment', label_pod_template_hash: '' };
    const before = opened(want);
    await connectFrom(dirB, 2);
    assert.ok(await waitFor(() => opened(want) - before >= 2, 5000),
      `opened ${opened(want) - before}; samples ${JSON.stringify(agent.collect().find((f) => f.name === 'maxpro_tcp_connections_opened')?.samples)}`);
    assert.equal(metric('maxpro_agent_reloads', { result: 'ok' }), 0);
  });

  test('a deleted pod loses its labels: its records are no longer kept', async () => {
    await cp.must('DELETE', `/api/v1/namespaces/shop/pods/${payment.name}?gracePeriodSeconds=0`);
    assert.ok(await waitFor(() => metric('maxpro_kubernetes_pods', { state: 'watching' }) === 1, 3000));
    assert.ok(await listHolds(1), 'only the relabelled pod is left in the allow list');
    const keptA = execsIn(idA).length;
    const before = filtered();
    await runIn(dirA);
    await sleep(400);
    assert.equal(execsIn(idA).length, keptA);
    assert.ok(filtered() - before >= 7, `filtered in the kernel: ${filtered() - before}`);
  });

  test('an API server restart mid-watch is followed: a pod created afterwards is held, without a restart of the agent', async () => {
    await cp.restartApiServer();
    const late: TestPod = { uid: '', name: 'late-0', namespace: 'jobs', nodeName: NODE, labels: { app: 'batch' } };
    late.uid = await createPod(late);
    assert.ok(await waitFor(() => metric('maxpro_kubernetes_pods', { state: 'watching' }) === 2, 20_000),
      `${JSON.stringify(agent.collect().find((f) => f.name === 'maxpro_kubernetes_pods')?.samples)}; ${logs.slice(-5).join(' | ')}`);
    assert.match(logs.join('\n'), /kubernetes: pod watch failed: .*retrying in 1 s/);
    assert.match(logs.join('\n'), new RegExp(`kubernetes: pod list on node ${NODE} recovered`));
    assert.equal(metric('maxpro_agent_reloads', { result: 'ok' }), 0);
    await cp.must('DELETE', `/api/v1/namespaces/jobs/pods/${late.name}?gracePeriodSeconds=0`);
    assert.ok(await waitFor(() => metric('maxpro_kubernetes_pods', { state: 'watching' }) === 1, 5000));
  });

  test('policy explain fills the cgroup lists with the pods\' labels, as the agent does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-k8s-explain-'));
    try {
      writeFileSync(join(dir, 'agent.yaml'), configText);
      const child = spawn(process.execPath, [BIN, 'policy', 'explain', '--config', join(dir, 'agent.yaml'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const r = { stdout: '', stderr: '' };
      child.stdout.on('data', (d: Buffer) => { r.stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { r.stderr += d.toString(); });
      assert.equal(await new Promise<number | null>((res) => child.on('close', res)), 0, r.stderr);
      const plan = JSON.parse(r.stdout) as { cgroupLists: { probe: string; mode: string; count: number }[] };
      // Only the relabelled pod is left with app=payment: its slice and its container's scope (the test
      // cgroups are the only pods on this machine).
      assert.deepEqual(plan.cgroupLists.find((l) => l.probe === 'process'), { ...plan.cgroupLists.find((l) => l.probe === 'process'), mode: 'allow', count: 2 });
      assert.match(r.stderr, new RegExp(`kubernetes: watching pods on node ${NODE} \\(1 now\\)`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
