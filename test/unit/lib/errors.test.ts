// SPDX-License-Identifier: Apache-2.0
// Keeps error classes, the MaxproErrorCode union and docs/errors.md in sync.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MaxproError, VerifierError, NotSupportedError, SyscallError } from '../../../src/lib/errors.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');
const docRows = new Map(docs.split('\n').filter((l) => /^\| \w+Error \| MAXPRO_ERR_/.test(l)).map((l) => {
  const [, cls, code] = l.split('|').map((c) => c.trim());
  return [cls!, code!] as const;
}));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

describe('errors', () => {
  test('every error class in src is documented with its code', () => {
    const classes: { name: string; file: string; code?: string }[] = [];
    for (const f of tsFiles(join(root, 'src'))) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/class (\w+Error) extends (\w+)/g)) {
        // The class body: up to the next top-level class.
        const rest = text.slice(m.index + m[0].length);
        const end = rest.search(/\n(export )?class /);
        const code = /'(MAXPRO_ERR_[A-Z_]+)'/.exec(end < 0 ? rest : rest.slice(0, end))?.[1];
        classes.push({ name: m[1]!, file: f, ...(code ? { code } : {}) });
      }
    }
    assert.ok(classes.length >= 10);
    for (const c of classes) {
      assert.ok(docRows.has(c.name), `${c.name} (${c.file}) is missing from docs/errors.md`);
      if (c.code) assert.equal(docRows.get(c.name), c.code, `${c.name}: docs say ${docRows.get(c.name)}, code says ${c.code}`);
    }
  });

  test('every code in the MaxproErrorCode union is documented', () => {
    const src = readFileSync(join(root, 'src/lib/errors.ts'), 'utf8');
    const union = /export type MaxproErrorCode =([\s\S]*?);/.exec(src)?.[1] ?? '';
    const codes = [...union.matchAll(/'(MAXPRO_ERR_[A-Z_]+)'/g)].map((m) => m[1]!);
    assert.ok(codes.length > 10);
    const documented = new Set(docRows.values());
    for (const code of codes) assert.ok(documented.has(code), `${code} is missing from docs/errors.md`);
  });

  test('codes, names and causes', () => {
    const cause = new Error('root');
    const e = new SyscallError('bpf_object__load', 1, 'EPERM', 'x', { cause });
    assert.ok(e instanceof MaxproError);
    assert.equal(e.code, 'MAXPRO_ERR_EBPF_SYSCALL');
    assert.equal(e.name, 'SyscallError');
    assert.equal(e.cause, cause);
    assert.equal(e.message, 'bpf_object__load: EPERM (x)');
    const ns = new NotSupportedError('kprobe', undefined, { minKernel: '4.1' });
    assert.equal(ns.feature, 'kprobe');
    assert.equal(ns.minKernel, '4.1');
  });

  test('VerifierError keeps the whole log but a short message', () => {
    const log = Array.from({ length: 500 }, (_, i) => `${i}: (85) call bpf_map_lookup_elem#1`);
    log.push('R0 invalid mem access \'map_value_or_null\'', 'processed 12 insns (limit 1000000)');
    const e = new VerifierError('obj/prog', 13, log, false);
    assert.equal(e.log.length, 502);
    assert.ok(e.message.length < 300, e.message);
    assert.match(e.message, /invalid mem access/);
    assert.match(e.message, /\(500 line\(s\) omitted\)/);
  });
});
