// SPDX-License-Identifier: Apache-2.0
/**
 * A real Kubernetes control plane for tests, as controller-runtime's envtest runs one: etcd and
 * kube-apiserver (and, on request, kube-controller-manager) as local processes on loopback ports,
 * with a temporary CA and serving certificate (openssl), service-account signing keys, and a static
 * admin token in system:masters written into a kubeconfig. No kubelet: pods given a spec.nodeName
 * are stored and watched like any other object. Everything is torn down by close(), and killed if
 * the test process exits first.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k8sToolPath, k8sToolsSkip } from './k8s-tools.js';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (garbage collection, namespace finalization, service-account tokens). */
  controllerManager?: boolean;
  /** Extra static-token users: token → [user, ...groups]. They have no rights until a binding grants them. */
  users?: Record<string, string[]>;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface ControlPlane {
  readonly url: string;
  /** Admin kubeconfig (system:masters). */
  readonly kubeconfig: string;
  /** CA certificate the API server's serving certificate chains to. */
  readonly caFile: string;
  readonly dir: string;
  /** Writes a kubeconfig for one of the `users` tokens. */
  kubeconfigFor(token: string): string;
  /** One API request as the admin; bodies of objects are sent as JSON unless `contentType` says otherwise. */
  api(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
  /** Like api(), but throws unless the status is 2xx. */
  must(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown>;
  /** Stops kube-apiserver, and starts it again on the same port once `whileDown` resolves. */
  restartApiServer(whileDown?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** False when the binaries are there, else why a test that needs a control plane skips. */
export function controlPlaneSkip(controllerManager = false): string | false {
  const missing = k8sToolsSkip('etcd', 'kube-apiserver', ...(controllerManager ? ['kube-controller-manager' as const] : []));
  if (missing) return missing;
  if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) return 'needs openssl for the test certificates';
  return false;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function openssl(dir: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, and a serving certificate for 127.0.0.1/localhost signed by it. */
function makeCerts(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-subj', '/CN=maxpro-test-ca');
  openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr',
    '-subj', '/CN=kube-apiserver');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
  openssl(dir, 'x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt',
    '-days', '2', '-extfile', 'san.ext');
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function run(bin: string, args: string[], logFile: string): ChildProcess {
  const log = { text: '' };
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer): void => {
    // Bounded: only the tail is needed to say why a start failed.
    log.text = (log.text + d.toString()).slice(-64 * 1024);
    writeFileSync(logFile, log.text);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-k8s-'));
  const children: { etcd?: ChildProcess; apiserver?: ChildProcess; kcm?: ChildProcess } = {};
  try {
    makeCerts(dir);
    const token = randomBytes(16).toString('hex');
    const users = Object.entries(options.users ?? {}).map(([t, [u, ...g]], i) => `${t},${u},uid-${i},"${g.join(',')}"`);
    writeFileSync(join(dir, 'tokens.csv'), [`${token},admin,uid-admin,"system:masters"`, ...users].join('\n') + '\n');
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const url = `https://127.0.0.1:${apiPort}`;
    const caFile = join(dir, 'ca.crt');
    const ca = readFileSync(caFile);

    const api = async (method: string, path: string, body?: unknown, contentType = 'application/json', bearer = token): Promise<ApiResponse> => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(`${url}${path}`, {
          method, ca, timeout: 30_000,
          headers: { authorization: `Bearer ${bearer}`, accept: 'application/json', ...(data !== undefined ? { 'content-type': contentType } : {}) },
        }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => { text += d.toString(); });
          res.on('end', () => {
            let parsed: unknown = text;
            try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text */ }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        req.end(data);
      });
    };
    const until = async (what: string, child: ChildProcess, log: string, ok: () => Promise<boolean>): Promise<void> => {
      // A cold start on a busy 2-core machine takes tens of seconds.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${tail(log)}`);
        if (await ok().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`${what} not ready after 120 s:\n${tail(log)}`);
    };

    const etcdLog = join(dir, 'etcd.log');
    children.etcd = run(k8sToolPath('etcd'), [
      '--name=default', `--data-dir=${join(dir, 'etcd')}`, '--unsafe-no-fsync', '--log-level=warn',
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    ], etcdLog);
    await until('etcd', children.etcd, etcdLog, async () => (await fetch(`http://127.0.0.1:${etcdClient}/readyz`)).ok);

    const apiLog = join(dir, 'kube-apiserver.log');
    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`, `--cert-dir=${dir}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`, `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${caFile}`, `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
      `--service-account-issuer=https://kubernetes.default.svc`, `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`, '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true', '--profiling=false',
      // Without kube-controller-manager no namespace gets its "default" ServiceAccount, which this
      // admission plugin would require of every pod.
      ...(options.controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
    ];
    const startApi = async (): Promise<void> => {
      children.apiserver = run(k8sToolPath('kube-apiserver'), apiArgs, apiLog);
      await until('kube-apiserver', children.apiserver, apiLog, async () => (await api('GET', '/readyz')).status === 200);
    };
    await startApi();

    const kubeconfigText = (bearer: string): string => [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters:', '- name: test', '  cluster:', `    server: ${url}`, `    certificate-authority: ${caFile}`,
      'users:', '- name: test', '  user:', `    token: ${bearer}`,
      'contexts:', '- name: test', '  context:', '    cluster: test', '    user: test', '',
    ].join('\n');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigText(token));

    if (options.controllerManager) {
      const kcmLog = join(dir, 'kube-controller-manager.log');
      children.kcm = run(k8sToolPath('kube-controller-manager'), [
        `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
        '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`, `--cert-dir=${join(dir, 'kcm')}`,
        `--service-account-private-key-file=${join(dir, 'sa.key')}`, `--root-ca-file=${caFile}`,
        '--use-service-account-credentials=true', '--leader-elect=false', '--controllers=*,-nodeipam,-nodelifecycle',
      ], kcmLog);
      // Ready once the service-account controller gave "default" its account.
      await until('kube-controller-manager', children.kcm, kcmLog, async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200);
    }

    const must = async (method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> => {
      const r = await api(method, path, body, contentType);
      if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text}`);
      return r.body;
    };
    return {
      url, kubeconfig, caFile, dir,
      kubeconfigFor(bearer) {
        const file = join(dir, `kubeconfig-${bearer.slice(0, 8)}`);
        writeFileSync(file, kubeconfigText(bearer));
        return file;
      },
      api: (m, p, b, c) => api(m, p, b, c),
      must,
      async restartApiServer(whileDown) {
        await stop(children.apiserver);
        await whileDown?.();
        await startApi();
      },
      async close() {
        await stop(children.kcm);
        await stop(children.apiserver);
        await stop(children.etcd);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await stop(children.kcm);
    await stop(children.apiserver);
    await stop(children.etcd);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
