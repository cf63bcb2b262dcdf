#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Signs the BPF objects of one output directory in cosign's formats and writes its signed manifest.
//   node scripts/sign-bpf.mjs --dir bpf/.output --arch x86 [--version 0.1.0] [--no-install-key] [--trust-dir DIR]
// Needs the compiled TypeScript (`npx tsc -b`). The key: MAXPRO_SIGNING_KEY (cosign.key, with
// COSIGN_PASSWORD when encrypted), else the development key pair (made once, outside the clone),
// whose public key is installed into the agent's default trust root. --trust-dir installs the public
// key of whichever key signed (a release key too) into DIR instead. See docs/supply-chain.md.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lib = (f) => import(join(root, 'dist/src/lib/signing', f));
const { loadSigningKey, installTrustedKey, defaultTrustedKeysDir } = await lib('signing-key-store.js');
const { signObjectDir } = await lib('sign-object-dir.js');
const { bpfArch } = await lib('object-manifest.js');

const { values } = parseArgs({
  options: {
    dir: { type: 'string' }, arch: { type: 'string' }, version: { type: 'string' },
    'no-install-key': { type: 'boolean', default: false }, quiet: { type: 'boolean', default: false }, 'trust-dir': { type: 'string' },
  },
});
if (!values.dir) {
  console.error('usage: sign-bpf.mjs --dir <output dir> [--arch x86|arm64] [--version X.Y.Z] [--no-install-key]');
  process.exit(2);
}
const version = values.version ?? JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const arch = bpfArch(values.arch ?? process.arch);
try {
  const key = loadSigningKey();
  const entries = signObjectDir({ dir: resolve(values.dir), arch, version, key: key.key });
  let installed = '';
  if (values['trust-dir']) installed = `; public key installed as ${installTrustedKey(key.publicPem, key.keyId, values['trust-dir'])}`;
  else if (key.development && !values['no-install-key']) installed = `; public key installed as ${installTrustedKey(key.publicPem, key.keyId)}`;
  if (!values.quiet) {
    console.error(`sign-bpf: ${entries.length} object(s) in ${values.dir} signed (${arch}, ${version}) by ${key.development ? 'the development key' : 'the release key'} ${key.keyId}${installed}`);
  }
  if (key.development && values['no-install-key'] && !values.quiet) console.error(`sign-bpf: trust it by copying ${join(key.source, 'cosign.pub')} into ${defaultTrustedKeysDir()}`);
} catch (err) {
  console.error(`sign-bpf: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
