// SPDX-License-Identifier: Apache-2.0
// Time of check, time of use: the object file is replaced between its verification and its load,
// by another process. What the kernel loads is the verified program (same tag and instruction
// length as the genuine object's), or nothing; never the replacement.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bpfObjectPath, configureObjectTrust, openObjectFile, ObjectVerificationError,
} from '../../../src/ebpf/index.js';
import type { BpfObject } from '../../../src/ebpf/index.js';
import { bpfArch } from '../../../src/lib/signing/object-manifest.js';
import { sha256 } from '../../../src/lib/signing/blob-signature.js';
import { kernelSkip } from '../../helpers/kernel.js';
import { makeKey, signedDir, tempDir } from '../../helpers/signed-objects.js';

const skip = kernelSkip();
const VERSION = '0.5.0';
const genuineSrc = (): string => bpfObjectPath('ringbuf_bench');
const replacementSrc = (): string => bpfObjectPath('tcp');

function identities(obj: BpfObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, p] of obj.programs) {
    const id = p.identity();
    out[name] = `${id.tag}/${id.xlatedLen}`;
  }
  return out;
}

function loadIdentities(path: string, options?: Parameters<typeof openObjectFile>[2]): Record<string, string> {
  const obj = openObjectFile(path, 'toctou', options).load();
  try {
    return identities(obj);
  } finally {
    obj.close();
  }
}

// Run by another process: replaces the file by rename(2), or rewrites the same inode in place.
const SWAP = `const fs = require('node:fs'); const [mode, src, dst] = process.argv.slice(1);
if (mode === 'rename') { fs.copyFileSync(src, dst + '.new'); fs.renameSync(dst + '.new', dst); }
else fs.writeFileSync(dst, fs.readFileSync(src));`;
// Flips the file between the two versions by rename until killed.
const FLIP = `const fs = require('node:fs'); const [a, b, dst] = process.argv.slice(1);
fs.copyFileSync(a, dst + '.a'); fs.copyFileSync(b, dst + '.b'); let i = 0;
for (;;) { const s = (i++ & 1) ? '.a' : '.b'; fs.copyFileSync(dst + s, dst + '.t'); fs.renameSync(dst + '.t', dst); }`;

describe('object verification TOCTOU', { skip }, () => {
  test('a file replaced between verification and load: the verified bytes are what loads', (t) => {
    const dir = tempDir(t);
    // The replacement's own programs (it is signed by the build's key, trusted by default).
    const other = openObjectFile(replacementSrc(), 'other').load();
    const otherIds = identities(other);
    other.close();
    const k = makeKey(join(dir, 'keys'), 'k');
    const prev = configureObjectTrust({ minVersion: VERSION, trustedKeys: [k.pubPath], arch: bpfArch() });
    t.after(() => configureObjectTrust(prev));
    const d = signedDir(join(dir, 'o'), { ringbuf_bench: genuineSrc() }, k.privateKey, { version: VERSION, arch: bpfArch() });
    const path = join(d, 'ringbuf_bench.bpf.o');
    const want = loadIdentities(path);
    assert.ok(Object.keys(want).length > 0);
    assert.notDeepEqual(otherIds, want, 'the replacement is a different program');

    for (const mode of ['rename', 'in-place']) {
      // Put the genuine object back, then swap it from another process after the check.
      spawnSync(process.execPath, ['-e', SWAP, 'rename', genuineSrc(), path], { stdio: 'inherit' });
      let swapped = false;
      const got = loadIdentities(path, {
        afterVerify: (p) => {
          const r = spawnSync(process.execPath, ['-e', SWAP, mode, replacementSrc(), p], { stdio: 'inherit' });
          assert.equal(r.status, 0);
          swapped = true;
        },
      });
      assert.ok(swapped, `${mode}: the hook ran`);
      assert.equal(sha256(readFileSync(path)).toString('hex'), sha256(readFileSync(replacementSrc())).toString('hex'), `${mode}: the file on disk is the replacement`);
      assert.deepEqual(got, want, `${mode}: the kernel holds the verified program`);
      // Opened afresh, the replacement is refused.
      assert.throws(() => openObjectFile(path), (e: unknown) => e instanceof ObjectVerificationError && e.reason === 'digest_mismatch', mode);
    }
  });

  test('racing a process that flips the file: every load is the verified program or a refusal', async (t) => {
    const dir = tempDir(t);
    const k = makeKey(join(dir, 'keys'), 'k');
    const prev = configureObjectTrust({ minVersion: VERSION, trustedKeys: [k.pubPath], arch: bpfArch() });
    t.after(() => configureObjectTrust(prev));
    const d = signedDir(join(dir, 'o'), { ringbuf_bench: genuineSrc() }, k.privateKey, { version: VERSION, arch: bpfArch() });
    const path = join(d, 'ringbuf_bench.bpf.o');
    const want = loadIdentities(path);
    const flipper = spawn(process.execPath, ['-e', FLIP, genuineSrc(), replacementSrc(), path], { stdio: 'inherit' });
    t.after(() => flipper.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 200));
    let loaded = 0, refused = 0;
    const end = Date.now() + 3000;
    while (Date.now() < end || loaded === 0 || refused === 0) {
      if (Date.now() > end + 20_000) break;
      try {
        assert.deepEqual(loadIdentities(path), want, 'a load is the verified program');
        loaded++;
      } catch (e) {
        if (!(e instanceof ObjectVerificationError)) throw e;
        assert.ok(['digest_mismatch', 'bad_signature', 'manifest_mismatch'].includes(e.reason), e.message);
        refused++;
      }
      await new Promise((r) => setImmediate(r));
    }
    flipper.kill('SIGKILL');
    t.diagnostic(`${loaded} loads of the verified program, ${refused} refusals of the replacement`);
    assert.ok(loaded > 0 && refused > 0, `both outcomes seen (${loaded} loaded, ${refused} refused)`);
  });
});
