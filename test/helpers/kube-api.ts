// SPDX-License-Identifier: Apache-2.0
/**
 * The part of a Kubernetes API server that a pod informer uses: list pods
 * (`GET /api/v1/pods`, honouring a `spec.nodeName` field selector) and
 * watch them (`?watch=true`, one JSON event per line). A kube-apiserver
 * cannot run on a test machine without a cluster; this speaks its wire
 * format so that the real client library (kubeconfig, list, watch) is
 * exercised. Pods are changed through `put` and `remove`, which reach every
 * open watch as MODIFIED/ADDED/DELETED events.
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubePod {
  uid: string;
  name: string;
  namespace: string;
  nodeName: string;
  labels?: Record<string, string>;
  owner?: { kind: string; name: string };
}

export interface KubeApi {
  readonly url: string;
  /** A kubeconfig file that points at this server. */
  readonly kubeconfig: string;
  /** Request paths with their query, in order. */
  readonly requests: string[];
  /** Answers the next `times` requests with HTTP `status` (a Status object), as an API server refusing or failing. */
  refuse(status: number, times: number): void;
  /** Ends every open watch, as an API server restarting does. */
  dropWatches(): void;
  /** Adds or changes a pod. */
  put(pod: KubePod): void;
  remove(uid: string): void;
  close(): Promise<void>;
}

export async function startKubeApi(initial: KubePod[] = []): Promise<KubeApi> {
  const pods = new Map<string, { pod: KubePod; rv: number }>();
  let rv = 1;
  for (const p of initial) pods.set(p.uid, { pod: p, rv: ++rv });
  const watches = new Set<{ res: ServerResponse; node: string | undefined }>();
  const requests: string[] = [];
  let refusals: { status: number; left: number } | undefined;

  const toObject = (p: KubePod, version: number): Record<string, unknown> => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      uid: p.uid, name: p.name, namespace: p.namespace, resourceVersion: String(version), labels: p.labels ?? {},
      ...(p.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: `${p.uid}-owner`, controller: true }] } : {}),
    },
    spec: { nodeName: p.nodeName, containers: [{ name: 'c', image: 'x' }] },
  });
  const nodeOf = (selector: string | null): string | undefined => {
    const m = /^spec\.nodeName=(.+)$/.exec(selector ?? '');
    return m ? m[1] : undefined;
  };
  const send = (type: string, p: KubePod, version: number): void => {
    for (const w of watches) {
      if (w.node === undefined || w.node === p.nodeName) w.res.write(`${JSON.stringify({ type, object: toObject(p, version) })}\n`);
    }
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(`${u.pathname}${u.search}`);
    if (refusals && refusals.left > 0) {
      refusals.left--;
      const reason = refusals.status === 403 ? 'Forbidden' : 'InternalError';
      res.writeHead(refusals.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message: `test: ${reason}`, code: refusals.status }));
      return;
    }
    if (req.method !== 'GET' || u.pathname !== '/api/v1/pods') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    const node = nodeOf(u.searchParams.get('fieldSelector'));
    if (u.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const w = { res, node };
      watches.add(w);
      req.on('close', () => watches.delete(w));
      return;
    }
    const items = [...pods.values()].filter((x) => node === undefined || x.pod.nodeName === node).map((x) => toObject(x.pod, x.rv));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(rv) }, items }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    'clusters:', '- name: test', '  cluster:', `    server: ${url}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: test', '  user:', '    token: test-token',
    'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test',
  ].join('\n'));

  return {
    url, kubeconfig, requests,
    refuse(status, times) {
      refusals = { status, left: times };
    },
    dropWatches() {
      for (const w of watches) w.res.destroy();
      watches.clear();
    },
    put(pod) {
      const type = pods.has(pod.uid) ? 'MODIFIED' : 'ADDED';
      pods.set(pod.uid, { pod, rv: ++rv });
      send(type, pod, rv);
    },
    remove(uid) {
      const x = pods.get(uid);
      if (!x) return;
      pods.delete(uid);
      send('DELETED', x.pod, ++rv);
    },
    async close() {
      for (const w of watches) w.res.end();
      watches.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
