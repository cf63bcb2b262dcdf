#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// `npm run bench -- <name> [flags]`: builds, then runs bench/<name>/<name>.bench.ts (compiled).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [name, ...rest] = process.argv.slice(2);
const available = existsSync(join(root, 'bench')) ? readdirSync(join(root, 'bench')).filter((d) => existsSync(join(root, 'bench', d, `${d}.bench.ts`))) : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const build = spawnSync('bash', [join(root, 'scripts/build.sh')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const res = spawnSync(process.execPath, ['--enable-source-maps', join(root, 'dist/bench', name, `${name}.bench.js`), ...rest], { stdio: 'inherit', cwd: root });
process.exit(res.status ?? 1);
