// SPDX-License-Identifier: Apache-2.0
/**
 * A real Kubernetes control plane for tests, as controller-runtime's envtest runs one: etcd and
 * kube-apiserver (and, on request, kube-controller-manager) as local processes on loopback ports,
 * with a temporary CA and serving certificate (openssl), service-account signing keys, and a static
 * admin token in system:masters written into a kubeconfig. No kubelet: pods given a spec.nodeName
 * are stored and watched like any other object. Everything is torn down by close(); when the test
 * process exits first, its exit handler does it; when it is killed, the kernel kills the children
 * (setpriv --pdeathsig) and the next start removes the directory it left.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Extra kube-apiserver flags, e.g. a short --min-request-timeout so that watches end sooner. */
  apiServerArgs?: string[];
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
  /** Process ids of etcd, kube-apiserver and kube-controller-manager while they run. */
  pids(): number[];
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

const PREFIX = 'maxpro-k8s-';
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// The kernel kills a child started this way when the test process dies, even by SIGKILL.
const pdeathsig = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore' }).status === 0;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes what a killed test process left: its directory, and any of its children still running
 * (checked by their command line naming that directory, so a reused pid is not hit).
 */
function sweep(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner = 0;
    try { owner = Number(readFileSync(join(dir, 'owner'), 'utf8')); } catch { continue; } // being created, or not ours
    if (!owner || alive(owner)) continue;
    let pids: number[] = [];
    try { pids = readFileSync(join(dir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number); } catch { /* none started */ }
    for (const pid of pids) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(bin: string, args: string[], logFile: string, pidFile: string): ChildProcess {
  const log = { text: '' };
  const child = pdeathsig
    ? spawn('setpriv', ['--pdeathsig', 'KILL', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid) appendFileSync(pidFile, `${child.pid}\n`);
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
  sweep();
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  dirs.add(dir);
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const pidFile = join(dir, 'pids');
  const children: { etcd?: ChildProcess; apiserver?: ChildProcess; kcm?: ChildProcess } = {};
  const teardown = async (): Promise<void> => {
    await stop(children.kcm);
    await stop(children.apiserver);
    await stop(children.etcd);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
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
    ], etcdLog, pidFile);
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
      ...(options.apiServerArgs ?? []),
    ];
    const startApi = async (): Promise<void> => {
      children.apiserver = run(k8sToolPath('kube-apiserver'), apiArgs, apiLog, pidFile);
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
      ], kcmLog, pidFile);
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
      pids: () => [children.etcd, children.apiserver, children.kcm]
        .filter((c): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null && c.pid !== undefined)
        .map((c) => c.pid!),
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
      close: teardown,
    };
  } catch (e) {
    await teardown();
    throw e;
  }
}
