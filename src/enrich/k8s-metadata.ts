// SPDX-License-Identifier: Apache-2.0
/**
 * Pod metadata for the pods of this node: pod UID to name, namespace,
 * labels, owner workload and node. Watches only `spec.nodeName=<node>`
 * through the official Kubernetes client, from the in-cluster service
 * account or a kubeconfig. Without a cluster the step is skipped and says so
 * once through `onNotice`.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { InvalidArgumentError } from '../lib/errors.js';

/** What an event carries about its pod. */
export interface PodMetadata {
  uid: string;
  name: string;
  namespace: string;
  nodeName?: string;
  labels: Readonly<Record<string, string>>;
  /** The controlling workload, resolved through a ReplicaSet to its Deployment by name. */
  workload?: { kind: string; name: string };
}

/** The subset of a V1Pod this module reads. */
export interface PodLike {
  metadata?: {
    uid?: string;
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string };
}

/**
 * Maps a pod object to its metadata; undefined without uid, name or
 * namespace. A ReplicaSet owner named `<deployment>-<pod-template-hash>` is
 * reported as its Deployment, as kubectl shows it.
 */
export function podMetadataFromPod(pod: PodLike): PodMetadata | undefined {
  const m = pod.metadata;
  if (!m?.uid || !m.name || !m.namespace) return undefined;
  const out: PodMetadata = { uid: m.uid, name: m.name, namespace: m.namespace, labels: { ...(m.labels ?? {}) } };
  if (pod.spec?.nodeName) out.nodeName = pod.spec.nodeName;
  const owner = m.ownerReferences?.find((o) => o.controller) ?? m.ownerReferences?.[0];
  if (owner) {
    const hash = m.labels?.['pod-template-hash'];
    if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
      out.workload = { kind: 'Deployment', name: owner.name.slice(0, -(hash.length + 1)) };
    } else if (owner.kind === 'Job' && /-\d{8,}$/.test(owner.name)) {
      // A CronJob's jobs are named <cronjob>-<scheduled minute>.
      out.workload = { kind: 'CronJob', name: owner.name.replace(/-\d{8,}$/, '') };
    } else {
      out.workload = { kind: owner.kind, name: owner.name };
    }
  }
  return out;
}

export interface K8sMetadataOptions {
  /** Path of a kubeconfig; default: the in-cluster service account when present. */
  kubeconfig?: string;
  /** This node's name. Default: $NODE_NAME, else the host name. */
  nodeName?: string;
  /** Most pods kept. Default 1024. */
  maxPods?: number;
  /** Receives one-line notices (skipped, connected, watch errors). */
  onNotice?(message: string): void;
  /** Called after a pod was added, changed or removed (its UID), so that caches of derived labels can refresh. */
  onChange?(podUid: string): void;
}

export interface K8sMetadataStats {
  state: 'disabled' | 'starting' | 'watching' | 'error';
  pods: number;
  /** Pods not kept because `maxPods` was reached. */
  overflow: number;
  errors: number;
}

export interface K8sMetadata {
  /** Connects and starts watching; resolves to false when no cluster is configured. */
  start(): Promise<boolean>;
  lookup(podUid: string): PodMetadata | undefined;
  stats(): K8sMetadataStats;
  close(): Promise<void>;
}

/**
 * One line for a client error. API errors carry the HTTP code and the
 * server's Status object (reason, message), and their message spans
 * several lines with the response headers; a 401/403 is most often RBAC.
 */
export function k8sErrorReason(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'number' && e.code >= 100) {
    let status: { reason?: unknown; message?: unknown } = {};
    try {
      status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body ?? {}) as typeof status;
    } catch { /* not a Status object */ }
    const what = [status.reason, status.message].filter((x) => typeof x === 'string' && x).join(': ');
    const hint = e.code === 401 || e.code === 403 ? ' (the agent\'s account needs get, list and watch on pods)' : '';
    return `HTTP ${e.code}${what ? ` ${what}` : ''}${hint}`;
  }
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Whether a cluster is configured: a kubeconfig was given, or the in-cluster account exists. */
export function kubernetesConfigured(kubeconfig?: string): boolean {
  if (kubeconfig) return true;
  return Boolean(process.env['KUBERNETES_SERVICE_HOST']) && existsSync(SA_TOKEN);
}

export function createK8sMetadata(options: K8sMetadataOptions = {}): K8sMetadata {
  const maxPods = options.maxPods ?? 1024;
  if (!Number.isInteger(maxPods) || maxPods < 1) throw new InvalidArgumentError(`createK8sMetadata: maxPods ${maxPods} must be a positive integer`);
  if (options.kubeconfig !== undefined && !existsSync(options.kubeconfig)) {
    throw new InvalidArgumentError(`kubeconfig ${options.kubeconfig} does not exist`);
  }
  const nodeName = options.nodeName ?? process.env['NODE_NAME'] ?? hostname();
  const pods = new Map<string, PodMetadata>();
  const st: K8sMetadataStats = { state: 'disabled', pods: 0, overflow: 0, errors: 0 };
  let stop: (() => Promise<void>) | undefined;
  let closed = false;
  const notice = (m: string): void => options.onNotice?.(m);

  const put = (pod: PodLike): void => {
    const meta = podMetadataFromPod(pod);
    if (!meta) return;
    const was = pods.get(meta.uid);
    if (!was && pods.size >= maxPods) {
      st.overflow++;
      return;
    }
    // Most updates are status changes: what is kept is unchanged, and so are the caches built on it.
    if (was && JSON.stringify(was) === JSON.stringify(meta)) return;
    pods.set(meta.uid, meta);
    options.onChange?.(meta.uid);
  };
  const remove = (pod: PodLike): void => {
    const uid = pod.metadata?.uid;
    if (uid && pods.delete(uid)) options.onChange?.(uid);
  };

  return {
    async start(): Promise<boolean> {
      if (!kubernetesConfigured(options.kubeconfig)) {
        notice('kubernetes: no cluster configured (no in-cluster service account, no kubeconfig given): pod metadata skipped');
        return false;
      }
      st.state = 'starting';
      // Loaded only when a cluster is configured: the client is large.
      const k8s = await import('@kubernetes/client-node');
      const kc = new k8s.KubeConfig();
      if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
      else kc.loadFromCluster();
      const api = kc.makeApiClient(k8s.CoreV1Api);
      const fieldSelector = `spec.nodeName=${nodeName}`;
      // The informer stops at its first error (a refused list, a broken watch) and leaves restarting
      // to its user: a fresh informer after a backoff (reset by the next successful list), whose list
      // also removes the pods deleted meanwhile.
      let retryMs = RETRY_MIN_MS;
      let retry: NodeJS.Timeout | undefined;
      type Pod = import('@kubernetes/client-node').V1Pod;
      let informer: import('@kubernetes/client-node').ListWatch<Pod>;
      const list = async (): Promise<import('@kubernetes/client-node').V1PodList> => {
        const l = await api.listPodForAllNamespaces({ fieldSelector });
        const listed = new Set(l.items.map((p) => p.metadata?.uid));
        for (const uid of [...pods.keys()]) if (!listed.has(uid)) remove({ metadata: { uid } });
        retryMs = RETRY_MIN_MS;
        if (st.state === 'error') notice(`kubernetes: pod list on node ${nodeName} recovered (${l.items.length} pods)`);
        st.state = 'watching';
        return l;
      };
      const open = (): Promise<void> => {
        const lw = new k8s.ListWatch<Pod>('/api/v1/pods', new k8s.Watch(kc), list, false, undefined, fieldSelector);
        lw.on('add', put);
        lw.on('update', put);
        lw.on('delete', remove);
        lw.on('error', (err: unknown) => {
          if (closed || lw !== informer) return; // stop() aborts the watch request
          st.errors++;
          st.state = 'error';
          notice(`kubernetes: pod watch failed: ${k8sErrorReason(err)} (retrying in ${retryMs / 1000} s)`);
          clearTimeout(retry);
          retry = setTimeout(() => {
            retry = undefined;
            if (!closed) open().catch((e: unknown) => notice(`kubernetes: restarting the pod watch: ${k8sErrorReason(e)}`));
          }, retryMs).unref();
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        });
        informer = lw;
        return lw.start();
      };
      stop = async () => {
        clearTimeout(retry);
        await informer.stop();
      };
      try {
        await open();
      } catch (err) {
        st.errors++;
        st.state = 'error';
        notice(`kubernetes: cannot list pods on node ${nodeName}: ${k8sErrorReason(err)}: pod metadata skipped`);
        await stop().catch(() => undefined);
        stop = undefined;
        return false;
      }
      // A failed first list was reported through 'error' and is being retried: say so rather than "watching".
      if ((st.state as K8sMetadataStats['state']) === 'error') return true;
      // In a pod the host name is the pod's, not the node's: with no pods listed, that is the likely cause.
      const guessed = options.nodeName === undefined && !process.env['NODE_NAME'];
      const hint = guessed && pods.size === 0 ? '; the node name is the host name: set NODE_NAME from spec.nodeName (downward API) or agent.nodeName' : '';
      notice(`kubernetes: watching pods on node ${nodeName} (${pods.size} now${hint})`);
      return true;
    },
    lookup: (uid) => pods.get(uid),
    stats: () => ({ ...st, pods: pods.size }),
    async close(): Promise<void> {
      closed = true;
      const s = stop;
      stop = undefined;
      if (s) await s();
      pods.clear();
    },
  };
}
