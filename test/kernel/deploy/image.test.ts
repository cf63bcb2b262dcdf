// SPDX-License-Identifier: Apache-2.0
// The container image (Containerfile, built by scripts/build-image.sh) run from its own root
// filesystem: unpacked with umoci and entered with chroot, inside a private mount namespace that
// sees the host's /sys (bpffs, tracefs, BTF, cgroup v2), /dev and a /proc of the host PID
// namespace, as the chart's pod does. The mounts die with that namespace, so nothing is left
// mounted on the host whatever happens. The image's own ENTRYPOINT and environment are used:
// `maxpro doctor` passes, and the agent loads the process and TCP probes and observes the host.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSkip, waitFor } from '../../helpers/kernel.js';
import { freePort } from '../../helpers/prometheus.js';
import { readNdjson } from '../../helpers/ndjson.js';
import { findCgroup2Mount } from '../../../src/enrich/cgroup-resolver.js';
import type { DoctorReport } from '../../../src/doctor/run-doctor.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLIENT = fileURLToPath(new URL('../agent/connect-client.js', import.meta.url));

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The OCI reference (`<layout>:<tag>`) of this tree's image, or why the test cannot run. */
function imageRef(): { ref: string } | { skip: string } {
  const k = kernelSkip();
  if (k) return { skip: k };
  for (const cmd of ['umoci', 'unshare', 'chroot']) {
    if (!has(cmd)) return { skip: `${cmd} is not installed (apt-get install umoci util-linux coreutils; scripts/build-image.sh installs it)` };
  }
  const res = spawnSync('bash', [join(ROOT, 'scripts/build-image.sh'), '--ref'], { encoding: 'utf8' });
  const ref = res.stdout.trim();
  if (res.status !== 0) return { skip: `the image of this tree is not built (${ref || res.stderr.trim()}): run \`bash scripts/build-image.sh\`` };
  return { ref };
}

const image = imageRef();
const skip = 'skip' in image ? image.skip : false;

// Runs inside the new mount namespace (propagation slave: nothing goes back to the host).
const ENTER = [
  'root=$1; shift',
  'mount -t proc proc "$root/proc"',
  'mount --rbind /sys "$root/sys"',
  'mount --rbind /dev "$root/dev"',
  'exec chroot "$root" /usr/bin/env -i "$@"',
].join('\n');

interface Bundle { rootfs: string; args: string[]; env: string[] }

/** A process of the image: its entry point with `args`, the image's environment, in the chroot. */
function inImage(b: Bundle, args: string[]): ChildProcess {
  return spawn('unshare', ['--mount', '--propagation', 'slave', '--', 'sh', '-ec', ENTER, 'sh', b.rootfs, ...b.env, ...b.args, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
}

function output(child: ChildProcess): { out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return { out: () => out, err: () => err, exit: new Promise((r) => child.on('exit', r)) };
}

function handshakes(text: string, cgroup: string): number {
  let n = 0;
  for (const m of text.matchAll(/^maxpro_tcp_handshake_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    if (m[1]!.includes(`cgroup="${cgroup}"`) && m[1]!.includes('direction="client"')) n += Number(m[2]);
  }
  return n;
}

describe('the container image, run from its unpacked root filesystem', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-image-'));
  const bundle = join(dir, 'bundle');
  const pinDir = `/sys/fs/bpf/maxpro-image-test-${process.pid}`;
  const rel = `/maxpro-image-test-${process.pid}`;
  const cgDir = `${findCgroup2Mount()}${rel}`;
  let b: Bundle;

  before(() => {
    // `raw unpack`: the root filesystem without the mtree manifest of `umoci unpack`, which hashes
    // every file and only serves `umoci repack`.
    const ref = (image as { ref: string }).ref;
    mkdirSync(bundle);
    for (const args of [['raw', 'unpack', '--image', ref, join(bundle, 'rootfs')],
      ['raw', 'runtime-config', '--image', ref, '--rootfs', join(bundle, 'rootfs'), join(bundle, 'config.json')]]) {
      const res = spawnSync('umoci', args, { encoding: 'utf8' });
      assert.equal(res.status, 0, `umoci ${args.join(' ')}: ${res.stderr}`);
    }
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; env: string[] } };
    // args is ENTRYPOINT + CMD; the tests pass their own command after the entry point.
    assert.equal(spec.process.args[0], 'maxpro', 'the entry point is `maxpro`');
    b = { rootfs: join(bundle, 'rootfs'), args: spec.process.args.slice(0, 1), env: spec.process.env };
    mkdirSync(cgDir, { recursive: true });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    try { if (existsSync(pinDir)) rmdirSync(pinDir); } catch { /* not empty: left for inspection */ }
    try { rmdirSync(cgDir); } catch { /* still busy */ }
  });

  test('the image holds Node >= 20 and the built command, and `maxpro doctor` passes in it', async () => {
    const node = output(spawn('chroot', [b.rootfs, '/usr/local/bin/node', '--version'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    assert.equal(await node.exit, 0, node.err());
    assert.ok(Number(/^v(\d+)\./.exec(node.out())?.[1]) >= 20, `node ${node.out()}`);

    const doctor = output(inImage(b, ['doctor', '--json']));
    const code = await doctor.exit;
    const report = JSON.parse(doctor.out()) as DoctorReport;
    const failed = report.checks.filter((c) => c.required && c.status !== 'ok' && c.status !== 'warn');
    assert.deepEqual(failed.map((c) => `${c.id}: ${c.detail}`), [], doctor.err());
    assert.equal(code, 0);
    assert.equal(report.ok, true);
    const status = (id: string): string | undefined => report.checks.find((c) => c.id === id)?.status;
    // The kernel the image sees is this one, and the hooks the probes use load and attach from it.
    assert.match(report.checks.find((c) => c.id === 'kernel.version')?.detail ?? '', new RegExp(`^${release().replace(/[.+]/g, '\\$&')} `));
    for (const id of ['kernel.btf', 'mount.bpffs', 'mount.tracefs', 'hook.tracepoint', 'hook.tp_btf', 'map.ringbuf_program']) {
      assert.equal(status(id), 'ok', id);
    }
  });

  test('the agent loads the process and TCP probes, serves /metrics and sees host execs and connections', { timeout: 120_000 }, async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    mkdirSync(join(b.rootfs, 'etc/maxpro'), { recursive: true });
    writeFileSync(join(b.rootfs, 'etc/maxpro/agent.yaml'),
      `agent:\n  pinDir: ${pinDir}\n  drainTimeoutMs: 2000\nhttp:\n  listen: ${listen}\n  pprof: false\n`);
    const child = inImage(b, ['agent', '--config', '/etc/maxpro/agent.yaml']);
    const agent = output(child);
    const server: Server = createServer((s) => { s.on('error', () => undefined); s.end(); });
    const abort = new AbortController();
    try {
      const loaded = await waitFor(() => /probe process: loaded/.test(agent.err()) && /probe tcp: loaded/.test(agent.err()), 60_000, 100);
      assert.ok(loaded, agent.err());

      // An exec on the host, by a program name nothing else uses, reaches the live stream.
      const execs: Record<string, unknown>[] = [];
      // The agent's bearer token, made on first start in the image's state directory.
      const token = readFileSync(join(b.rootfs, 'var/lib/maxpro/agent.token'), 'utf8').trim();
      const res = await fetch(`http://${listen}/stream?probe=process`, { signal: abort.signal, headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      readNdjson(res, (l) => { const e = l as Record<string, unknown>; if (e.name === 'process.exec') execs.push(e); });
      const prog = join(dir, `mximg${process.pid % 100000}`);
      copyFileSync('/bin/true', prog);
      spawnSync('chmod', ['+x', prog]);
      const seen = (): boolean => execs.some((e) => JSON.stringify(e).includes(prog));
      for (let i = 0; i < 20 && !seen(); i++) {
        assert.equal(spawnSync(prog).status, 0);
        await waitFor(seen, 500);
      }
      assert.ok(seen(), `an exec of ${prog} in the stream (${execs.length} exec events seen)`);

      // Three connections from a cgroup of their own are counted exactly.
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const client = spawn(process.execPath, [CLIENT, cgDir, '127.0.0.1', String(port), '3'], { stdio: 'ignore' });
      assert.equal(await new Promise((r) => client.on('exit', r)), 0);
      let text = '';
      const counted = async (): Promise<boolean> => {
        const r = await fetch(`http://${listen}/metrics`);
        assert.equal(r.status, 200);
        text = await r.text();
        return handshakes(text, rel) === 3;
      };
      const until = Date.now() + 10_000;
      while (!(await counted()) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      assert.equal(handshakes(text, rel), 3, text.split('\n').filter((l) => l.startsWith('maxpro_tcp_handshake')).join('\n'));
      assert.match(text, /^maxpro_process_events_total\{type="exec"\} [1-9]/m);
    } finally {
      abort.abort();
      server.close();
      child.kill('SIGTERM');
      const code = await agent.exit;
      assert.equal(code, 0, `the agent stops cleanly on SIGTERM: ${agent.err()}`);
    }
  });
});
