// SPDX-License-Identifier: Apache-2.0
/** Where compiled BPF objects live. `MAXPRO_BPF_DIR` overrides. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NotFoundError } from '../lib/errors.js';
import { repoRoot } from './native.js';

/** Directory of `<probe>.bpf.o` files. */
export function bpfObjectDir(): string {
  return process.env['MAXPRO_BPF_DIR'] ?? resolve(repoRoot(), 'bpf/.output');
}

/** Path of a probe's compiled object; throws `NotFoundError` when it was not built. */
export function bpfObjectPath(probe: string): string {
  const p = resolve(bpfObjectDir(), `${probe}.bpf.o`);
  if (!existsSync(p)) throw new NotFoundError(`BPF object ${p} not found: run \`npm run build\``);
  return p;
}
