// SPDX-License-Identifier: Apache-2.0
// The agent attests what it loaded: GET /attestation (behind the token) and the metrics list each
// loaded BPF object with its digest, signer key id and verification time; a refused object loads
// nothing and is counted by reason; on a restart with keepPinned, the pinned programs are compared
// by tag with the ones loaded from verified bytes, and a replaced pin is not what runs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../../src/agent/agent.js';
import type { AttestationReport } from '../../../src/agent/bpf-attestation.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { bpfObjectPath, loadedObjects, openObjectFile, pinnedProgramIdentity } from '../../../src/ebpf/index.js';
import { sha256 } from '../../../src/lib/signing/blob-signature.js';
import { kernelSkip } from '../../helpers/kernel.js';
import { makeKey } from '../../helpers/signed-objects.js';
import { useTcpRestartBed } from './tcp-restart-bed.js';
import type { MetricFamily } from '../../../src/lib/metric-family.js';

const hintOf = (obj: string): string =>
  (JSON.parse(readFileSync(`${bpfObjectPath(obj)}.sigstore.json`, 'utf8')) as { verificationMaterial: { publicKey: { hint: string } } }).verificationMaterial.publicKey.hint;
const sample = (fams: MetricFamily[], name: string, labels: Record<string, string>): number | undefined => {
  const f = fams.find((x) => x.name === name);
  if (!f || f.type === 'histogram') return undefined;
  return f.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
};

function config(pinDir: string, tokenFile: string, o: { tcp: boolean; process: boolean; keepPinned: boolean }): ReturnType<typeof parseConfigText>['config'] {
  return parseConfigText([
    'agent:', `  pinDir: ${pinDir}`, `  keepPinned: ${o.keepPinned}`,
    'probes:', `  process: { enabled: ${o.process} }`, `  tcp: { enabled: ${o.tcp} }`,
    'http:', '  listen: 127.0.0.1:0', '  pprof: false', '  auth:', `    tokenFile: ${tokenFile}`,
  ].join('\n'), 'attestation.yaml').config;
}

describe('agent attestation of verified BPF objects', { skip: kernelSkip() }, () => {
  const bed = useTcpRestartBed('attest');

  test('/attestation and the metrics list each loaded object; closing forgets it', async () => {
    const tokenFile = join(bed.dir, 'token');
    const t0 = Date.now();
    const logs: string[] = [];
    const agent = await createAgent({ config: config(bed.pinDir, tokenFile, { tcp: true, process: true, keepPinned: false }), log: (l) => logs.push(l) });
    try {
      assert.deepEqual(agent.probes().sort(), ['process', 'tcp'], logs.join('\n'));
      const anon = await fetch(`${agent.url}/attestation`);
      assert.equal(anon.status, 401, 'the attestation is behind the agent\'s token');
      const token = readFileSync(tokenFile, 'utf8').trim();
      const res = await fetch(`${agent.url}/attestation`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const report = await res.json() as AttestationReport;
      assert.equal(report.verification, 'on');
      assert.ok(report.trustedKeys.some((k) => k.keyId === hintOf('tcp')), JSON.stringify(report.trustedKeys));
      for (const name of ['process', 'tcp']) {
        const o = report.objects.find((x) => x.object === name);
        assert.ok(o, `${name} is listed: ${JSON.stringify(report.objects)}`);
        assert.equal(o.sha256, sha256(readFileSync(bpfObjectPath(name))).toString('hex'));
        assert.equal(o.keyId, hintOf(name));
        assert.equal(o.verified, true);
        const at = Date.parse(o.verifiedAt);
        assert.ok(at >= t0 - 1000 && at <= Date.now(), `verified at ${o.verifiedAt}`);
        const fams = agent.collect();
        assert.equal(sample(fams, 'maxpro_bpf_object_info', { object: name, sha256: o.sha256, key_id: o.keyId!, verified: 'true' }), 1);
        assert.equal(sample(fams, 'maxpro_bpf_object_verified_time_seconds', { object: name }), at / 1000);
      }
      assert.equal(sample(agent.collect(), 'maxpro_bpf_object_verification_enabled', {}), 1);
      const text = await (await fetch(`${agent.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      assert.match(text, /^maxpro_bpf_object_info\{object="tcp",sha256="[0-9a-f]{64}",key_id="[^"]+",version="[^"]+",verified="true"\} 1$/m);
    } finally {
      await agent.shutdown();
    }
    assert.deepEqual(loadedObjects().filter((o) => o.object === 'tcp' || o.object === 'process'), [], 'closed objects are no longer attested');
  });

  test('an object under an untrusted key is refused: nothing loads, the reason is counted and reported', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-untrusted-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const prev = process.env['MAXPRO_TRUSTED_KEYS'];
    process.env['MAXPRO_TRUSTED_KEYS'] = makeKey(dir, 'not-the-builder').pubPath;
    t.after(() => (prev === undefined ? delete process.env['MAXPRO_TRUSTED_KEYS'] : (process.env['MAXPRO_TRUSTED_KEYS'] = prev)));
    const logs: string[] = [];
    const before = (await import('../../../src/ebpf/index.js')).verificationFailures().find((f) => f.object === 'tcp' && f.reason === 'untrusted_key')?.count ?? 0;
    const agent = await createAgent({ config: config(bed.pinDir, join(dir, 'token'), { tcp: true, process: false, keepPinned: false }), log: (l) => logs.push(l) });
    try {
      assert.deepEqual(agent.probes(), [], 'the tcp probe did not load');
      assert.ok(logs.some((l) => /probe tcp: not loaded: BPF object tcp refused \(untrusted_key\)/.test(l)), logs.join('\n'));
      assert.equal(sample(agent.collect(), 'maxpro_bpf_object_verification_failures', { object: 'tcp', reason: 'untrusted_key' }), before + 1);
      const token = readFileSync(join(dir, 'token'), 'utf8').trim();
      const report = await (await fetch(`${agent.url}/attestation`, { headers: { authorization: `Bearer ${token}` } })).json() as AttestationReport;
      assert.equal(report.lastFailure?.reason, 'untrusted_key');
      assert.ok(!report.objects.some((o) => o.object === 'tcp'));
    } finally {
      await agent.shutdown();
    }
  });

  test('keepPinned restart: a pinned program replaced meanwhile is detected by tag and not what runs', async () => {
    const tokenFile = join(bed.dir, 'token3');
    const cfg = config(bed.pinDir, tokenFile, { tcp: true, process: false, keepPinned: true });
    const first = await createAgent({ config: cfg });
    await first.shutdown();
    const pins = readdirSync(bed.pinDir).filter((f) => f.startsWith('tcp_prog_')).sort();
    assert.ok(pins.length > 0, `programs stay pinned with keepPinned: ${readdirSync(bed.pinDir).join(', ')}`);
    // Another CAP_BPF holder puts its own program where one of ours was pinned.
    const victim = join(bed.pinDir, pins[0]!);
    const foreign = openObjectFile(bpfObjectPath('ringbuf_bench')).load();
    const foreignProg = [...foreign.programs.values()][0]!;
    const foreignTag = foreignProg.identity().tag;
    rmSync(victim);
    foreignProg.pin(victim);
    foreign.close();
    assert.equal(pinnedProgramIdentity(victim)?.tag, foreignTag, 'the foreign program is pinned in our place');

    const logs: string[] = [];
    const { pinnedProgramChecks } = await import('../../../src/ebpf/index.js');
    const count = (r: string): number => pinnedProgramChecks().find((c) => c.object === 'tcp' && c.result === r)?.count ?? 0;
    const [replaced0, matched0] = [count('replaced'), count('matched')];
    const second = await createAgent({ config: { ...cfg, agent: { ...cfg.agent, keepPinned: false } }, log: (l) => logs.push(l) });
    try {
      assert.equal(count('replaced') - replaced0, 1, logs.join('\n'));
      assert.equal(count('matched') - matched0, pins.length - 1, 'the untouched pins match the verified programs');
      assert.ok(logs.some((l) => l.includes(`the pinned program ${victim} (tag ${foreignTag}) is not the verified object's`)), logs.join('\n'));
      // What runs now is the verified program: the pin holds it again, with its tag.
      const now = pinnedProgramIdentity(victim);
      assert.notEqual(now?.tag, foreignTag);
      const a = (await (await fetch(`${second.url}/attestation`, { headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` } })).json()) as AttestationReport;
      assert.ok(a.pinnedPrograms.some((c) => c.object === 'tcp' && c.result === 'replaced'));
    } finally {
      await second.shutdown();
    }
  });
});
