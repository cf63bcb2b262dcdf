// SPDX-License-Identifier: Apache-2.0
// scripts/extract-btf.mjs finds a kernel's .BTF blob inside a kernel image: here the running
// kernel's real BTF placed inside other bytes (plain and gzip'd), and images without one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { mulberry32 } from '../../../src/lib/seeded-random.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
const skip = existsSync(KERNEL_BTF) ? false : `no kernel BTF at ${KERNEL_BTF} to embed`;

function noise(n: number, seed: number): Buffer {
  const rnd = mulberry32(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

describe('extract-btf', { skip }, () => {
  const btf = skip ? Buffer.alloc(0) : readFileSync(KERNEL_BTF);
  // A lone magic with a header that does not fit, before the real blob, must be skipped.
  const decoy = Buffer.concat([Buffer.from([0x9f, 0xeb, 0x01, 0x00, 24, 0, 0, 0]), Buffer.alloc(16, 0xff)]);
  const scenarios = [
    { name: 'blob inside an image', image: () => Buffer.concat([noise(4096, 1), decoy, btf, noise(4096, 2)]), found: true },
    { name: "gzip'd image", image: () => gzipSync(Buffer.concat([noise(1000, 3), btf, noise(10, 4)])), found: true },
    { name: 'blob alone', image: () => btf, found: true },
    { name: 'no blob', image: () => Buffer.concat([noise(8192, 5), decoy]), found: false },
    { name: 'two blobs', image: () => Buffer.concat([btf, noise(64, 6), btf]), found: false },
    { name: 'blob cut short', image: () => Buffer.concat([noise(64, 7), btf.subarray(0, btf.length - 100)]), found: false },
  ];
  for (const s of scenarios) {
    test(s.name, (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'maxpro-btf-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'image'), s.image());
      const r = spawnSync(process.execPath, [join(repo, 'scripts/extract-btf.mjs'), join(dir, 'image'), join(dir, 'out.btf')], { encoding: 'utf8' });
      if (s.found) {
        assert.equal(r.status, 0, r.stderr);
        assert.ok(readFileSync(join(dir, 'out.btf')).equals(btf), 'the extracted blob is the kernel BTF, byte for byte');
      } else {
        assert.equal(r.status, 1);
        assert.match(r.stderr, /expected one BTF blob, found [02]/);
        assert.equal(existsSync(join(dir, 'out.btf')), false);
      }
    });
  }
});
