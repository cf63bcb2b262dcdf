// SPDX-License-Identifier: Apache-2.0
// The test control plane itself (test/helpers/kube-control-plane.ts): ready when it returns, usable
// through the official client with the admin kubeconfig, kube-controller-manager doing its work
// (service accounts, garbage collection), and nothing left behind, neither processes nor the
// directory, by close(), by a failing test, by process.exit() in a test, or by a SIGKILL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { controlPlaneSkip, startControlPlane } from '../../helpers/kube-control-plane.js';
import { sleep, waitFor } from '../../helpers/kernel.js';

const CHILD = fileURLToPath(new URL('./control-plane-child.js', import.meta.url));

const running = (pid: number): boolean => {
  try {
    // A killed child stays a zombie until its parent reaps it: not running.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

async function until(ok: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok()) return true;
    await sleep(200);
  }
  return ok();
}

interface Left { dir: string; pids: number[]; code: number | null; signal: string | null }

/** Runs the child in `mode`; `kill` SIGKILLs it once its control plane is ready. */
async function runChild(mode: 'fail' | 'exit' | 'hang', kill = false): Promise<Left> {
  const tmp = mkdtempSync(join(tmpdir(), 'maxpro-cp-test-'));
  const info = join(tmp, 'info.json');
  try {
    const child = spawn(process.execPath, [CHILD, mode, info], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    if (kill) {
      assert.ok(await waitFor(() => existsSync(info), 120_000), `the child's control plane started: ${out}`);
      child.kill('SIGKILL');
    }
    const [code, signal] = await exited;
    assert.ok(existsSync(info), `the child's control plane started: ${out}`);
    const { dir, pids } = JSON.parse(readFileSync(info, 'utf8')) as { dir: string; pids: number[] };
    assert.equal(pids.length, 2, 'etcd and kube-apiserver');
    return { dir, pids, code, signal };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

describe('test control plane', { skip: controlPlaneSkip(true), timeout: 300_000 }, () => {
  test('a failing test: its after hook tears the control plane down', async () => {
    const left = await runChild('fail');
    assert.equal(left.code, 1, 'the child\'s test failed');
    assert.deepEqual(left.pids.filter(running), []);
    assert.equal(existsSync(left.dir), false);
  });

  test('process.exit() in a test (no after hook): the exit handler tears it down', async () => {
    const left = await runChild('exit');
    assert.equal(left.code, 1);
    assert.deepEqual(left.pids.filter(running), []);
    assert.equal(existsSync(left.dir), false);
  });

  let killedDir = '';
  test('a SIGKILLed test process: the kernel kills its etcd and kube-apiserver', async () => {
    const left = await runChild('hang', true);
    assert.equal(left.signal, 'SIGKILL');
    assert.ok(await waitFor(() => left.pids.every((p) => !running(p)), 5000), `still running: ${left.pids.filter(running).join(', ')}`);
    // Nothing ran in the killed process to remove its directory: the next start does.
    assert.equal(existsSync(left.dir), true);
    killedDir = left.dir;
  });

  test('with kube-controller-manager: ready, usable with the official client, controllers at work, then gone', async () => {
    const cp = await startControlPlane({ controllerManager: true });
    const pids = cp.pids();
    try {
      if (killedDir) assert.equal(existsSync(killedDir), false, 'the directory a killed test process left is removed');
      assert.equal(pids.length, 3);
      assert.equal((await cp.api('GET', '/readyz')).text, 'ok');
      const kc = new KubeConfig();
      kc.loadFromFile(cp.kubeconfig);
      const core = kc.makeApiClient(CoreV1Api);
      const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
      assert.ok(names.includes('default') && names.includes('kube-system'), names.join(', '));
      // The service-account controller gives every namespace its "default" account.
      await core.createNamespace({ body: { metadata: { name: 'gc' } } });
      assert.ok(await until(async () => (await cp.api('GET', '/api/v1/namespaces/gc/serviceaccounts/default')).status === 200, 20_000));
      // The garbage collector deletes an object whose owner is gone.
      const owner = await core.createNamespacedConfigMap({ namespace: 'gc', body: { metadata: { name: 'owner' } } });
      await core.createNamespacedConfigMap({
        namespace: 'gc',
        body: { metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }] } },
      });
      await core.deleteNamespacedConfigMap({ namespace: 'gc', name: 'owner' });
      assert.ok(await until(async () => (await cp.api('GET', '/api/v1/namespaces/gc/configmaps/dependent')).status === 404, 30_000),
        'the dependent is collected');
    } finally {
      await cp.close();
    }
    assert.deepEqual(pids.filter(running), []);
    assert.equal(existsSync(cp.dir), false);
  });
});
