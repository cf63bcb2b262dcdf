// SPDX-License-Identifier: Apache-2.0
/**
 * Loads every program of every built BPF object on its own (the verifier
 * checks each) and prints one JSON line: per program, whether it loaded, how
 * long load and verification took, and the refusal when it did not. Run by
 * .ci/run (as root) for the CI's telemetry; a program this kernel cannot
 * load (a hook type it lacks) is recorded as failed, not thrown.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfObjectDir, openObjectFile } from '../../src/ebpf/index.js';

export interface BpfLoadResult {
  object: string;
  program: string;
  type: string;
  ok: boolean;
  loadMs: number;
  error?: string;
}

export function loadEveryProgram(dir = bpfObjectDir()): BpfLoadResult[] {
  const out: BpfLoadResult[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.bpf.o')).sort()) {
    const object = file.replace(/\.bpf\.o$/, '');
    const names = (() => {
      const spec = openObjectFile(join(dir, file), object);
      try {
        return spec.programs.map((p) => ({ name: p.name, type: p.type }));
      } finally {
        spec.close();
      }
    })();
    for (const { name, type } of names) {
      const spec = openObjectFile(join(dir, file), object);
      const start = process.hrtime.bigint();
      try {
        for (const p of spec.programs) spec.setAutoload(p.name, p.name === name);
        spec.load().close();
        out.push({ object, program: name, type, ok: true, loadMs: Number(process.hrtime.bigint() - start) / 1e6 });
      } catch (err) {
        spec.close();
        const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
        out.push({ object, program: name, type, ok: false, loadMs: Number(process.hrtime.bigint() - start) / 1e6, error: msg });
      }
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const startMs = Date.now();
  process.stdout.write(`${JSON.stringify({ kind: 'bpf', startMs, programs: loadEveryProgram() })}\n`);
}
