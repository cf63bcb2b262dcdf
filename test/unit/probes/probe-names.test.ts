// SPDX-License-Identifier: Apache-2.0
// A probe is its folders (bpf/probes/<name>/, src/probes/<name>/) and one entry in
// src/probes/registry.ts: everything else iterates over the registry. This test fails, with the
// file and line, where code outside those places names a registered probe: the name as a string
// literal ('tcp'), as a property or key (cfg.probes.tcp, { tcp: … }), or an import from the
// probe's folder. Docs, comments and tests may name probes; so may the few files listed below,
// each with the reason, until they move (the list may only shrink: an entry that no longer names
// its probe fails too).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../../../src/ebpf/index.js';
import { PROBE_NAMES } from '../../../src/probes/registry.js';

/** Files outside the probes' folders that still name a probe, and why. */
const ALLOWED: Readonly<Record<string, { probes: readonly string[]; why: string }>> = {
  'src/enrich/process-enricher.ts': { probes: ['process'], why: 'the enrichment stage reads the process probe\'s decoded events (type imports, as the layer table allows)' },
};

const root = repoRoot();

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Comments blanked (line numbers kept); `code` also has string and template contents blanked. */
function strip(text: string): { raw: string; code: string } {
  let raw = '', code = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!, d = text[i + 1];
    if (c === '/' && d === '/') {
      const end = text.indexOf('\n', i);
      const len = (end < 0 ? text.length : end) - i;
      raw += ' '.repeat(len); code += ' '.repeat(len); i += len;
    } else if (c === '/' && d === '*') {
      const end = text.indexOf('*/', i + 2);
      const body = text.slice(i, end < 0 ? text.length : end + 2).replace(/[^\n]/g, ' ');
      raw += body; code += body; i += body.length;
    } else if (c === '\'' || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      const s = text.slice(i, j + 1);
      raw += s; code += c + s.slice(1, -1).replace(/[^\n]/g, ' ') + (s.length > 1 ? c : ''); i = j + 1;
    } else {
      raw += c; code += c; i++;
    }
  }
  return { raw, code };
}

/** Where a file names a probe: `line: text` per hit. */
function namings(text: string, name: string): string[] {
  const { raw, code } = strip(text);
  const onRaw = [new RegExp(`(['"\`])${name}\\1`), new RegExp(`/probes/${name}/`)];
  // A property or key: cfg.probes.tcp, { tcp: … }, but not a spread (...process.env) or a method (.process()).
  const onCode = [new RegExp(`(?<!\\.\\.)\\.${name}\\b(?!\\s*\\()`), new RegExp(`(^|[{,\\s])${name}\\??\\s*:(?!:)`)];
  const rawLines = raw.split('\n'), codeLines = code.split('\n'), src = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < src.length; i++) {
    if (onRaw.some((r) => r.test(rawLines[i]!)) || onCode.some((r) => r.test(codeLines[i]!))) out.push(`${i + 1}: ${src[i]!.trim()}`);
  }
  return out;
}

describe('probe names stay in the probes\' folders and the registry', () => {
  const files = tsFiles(join(root, 'src')).map((f) => relative(root, f));

  test('the scanner finds each kind of naming, and not a mere mention', () => {
    const hits = (t: string): number => namings(t, 'tcp').length;
    assert.equal(hits("const p = 'tcp';"), 1);
    assert.equal(hits('if (cfg.probes.tcp.enabled) x();'), 1);
    assert.equal(hits('const counts = { tcp: 0 };'), 1);
    assert.equal(hits("import { x } from '../probes/tcp/tcp-probe.js';"), 1);
    assert.equal(hits("const m = 'tcp.connect.latency'; // tcp\n/* 'tcp' */ const t = `see probes.tcp`;"), 0);
    assert.equal(namings('const env = { ...process.env }; ingest.process(x);', 'process').length, 0);
  });

  for (const name of PROBE_NAMES) {
    test(`${name}: named only in src/probes/${name}/ and the registry`, () => {
      const found: string[] = [];
      for (const f of files) {
        if (f === 'src/probes/registry.ts' || f.startsWith(`src/probes/${name}/`)) continue;
        const hits = namings(readFileSync(join(root, f), 'utf8'), name);
        const allowed = ALLOWED[f]?.probes.includes(name) === true;
        if (allowed) assert.ok(hits.length > 0, `${f} no longer names ${name}: remove it from ALLOWED`);
        else found.push(...hits.map((h) => `${f}:${h}`));
      }
      assert.deepEqual(found, [], `the ${name} probe is named outside its folders; read it from the registry (src/probes/registry.ts) instead`);
    });
  }
});
