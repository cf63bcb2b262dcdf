// SPDX-License-Identifier: Apache-2.0
/**
 * Reads and validates the agent's YAML configuration. Every problem is
 * reported as `file:line: path: reason`; the thrown ConfigError carries all of
 * them (one per line of its message) and the first one's file and line.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../../lib/errors.js';
import { AGENT_CONFIG_SCHEMA } from './agent-config.js';
import type { AgentConfig } from './agent-config.js';

/**
 * Largest config file read. A config is a few KiB; the limit is checked
 * before parsing, so a huge file is refused in constant time and memory.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Most alias expansions in one file: a config needs few, a "billion laughs" file needs many. */
export const MAX_CONFIG_ALIASES = 100;

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. an override). */
  line: number;
  path: string;
  message: string;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(root)';
}

/** The node at `path`, or the deepest existing ancestor. For a key name, the key's own node. */
function locate(doc: Document, path: readonly PropertyKey[], key?: string): Node | undefined {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) return node as Node;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return node as Node;
      node = item;
    } else break;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key)) return pair.key as Node;
  }
  return node as Node | undefined;
}

function lineOf(doc: Document, lc: LineCounter, path: readonly PropertyKey[], key?: string): number {
  const n = locate(doc, path, key);
  const off = n?.range?.[0];
  return off === undefined ? 1 : lc.linePos(off).line;
}

/** Turns zod issues into problems, one per unknown key. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], file: string, lineFor: (path: readonly PropertyKey[], key?: string) => number): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) {
        out.push({ file, line: lineFor(i.path, k), path: pathText([...i.path, k]), message: `unknown key ${JSON.stringify(k)}` });
      }
      continue;
    }
    let message = i.message;
    if (i.code === 'invalid_type') message = `wrong type: expected ${i.expected}${/received (\w+)/.exec(i.message) ? `, got ${/received (\w+)/.exec(i.message)![1]}` : ''}`;
    out.push({ file, line: lineFor(i.path), path: pathText(i.path), message });
  }
  return out;
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.path}: ${p.message}`).join('\n');
}

function fail(problems: ConfigProblem[]): never {
  const first = problems[0]!;
  throw new ConfigError(formatProblems(problems), { file: first.file, ...(first.line ? { line: first.line } : {}) });
}

export interface ParsedConfig {
  config: AgentConfig;
  /** The raw (pre-default) object, for overrides. */
  raw: unknown;
}

const sizeText = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${n} bytes`);

/** Parses and validates YAML text. `file` names it in messages. May throw `ConfigError`. */
export function parseConfigText(text: string, file: string): ParsedConfig {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) fail([{ file, line: 0, path: '(file)', message: `${sizeText(bytes)} exceeds the ${sizeText(MAX_CONFIG_BYTES)} limit of a config file` }]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    fail(doc.errors.map((e) => ({
      file, line: e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line, path: '(yaml)', message: e.message.split('\n')[0]!,
    })));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES }) ?? {};
  } catch (err) {
    // The yaml library refuses an alias bomb without a place: name the first alias.
    let line = 0;
    visit(doc, {
      Alias(_key, node) {
        if (node.range) line = lc.linePos(node.range[0]).line;
        return visit.BREAK;
      },
    });
    fail([{ file, line, path: '(yaml)', message: `aliases expand past ${MAX_CONFIG_ALIASES} nodes (${(err as Error).message.split('\n')[0]}): refused` }]);
  }
  const res = AGENT_CONFIG_SCHEMA.safeParse(raw);
  if (!res.success) fail(issuesToProblems(res.error.issues, file, (p, k) => lineOf(doc, lc, p, k)).sort((a, b) => a.line - b.line));
  return { config: res.data, raw };
}

/** The offset of the first byte that is not part of valid UTF-8, or -1. */
function invalidUtf8At(buf: Buffer): number {
  for (let i = 0; i < buf.length;) {
    const b = buf[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > buf.length) return i;
    for (let k = 1; k < n; k++) if ((buf[i + k]! & 0xc0) !== 0x80) return i;
    const c1 = buf[i + 1]!;
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((b === 0xe0 && c1 < 0xa0) || (b === 0xed && c1 > 0x9f) || (b === 0xf0 && c1 < 0x90) || (b === 0xf4 && c1 > 0x8f)) return i;
    i += n;
  }
  return -1;
}

/** Reads at most MAX_CONFIG_BYTES + 1 bytes, so the size is known before the file is held. */
function readBounded(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_CONFIG_BYTES) fail([{ file, line: 0, path: '(file)', message: `${sizeText(size)} exceeds the ${sizeText(MAX_CONFIG_BYTES)} limit of a config file` }]);
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    // A file that grew while read (or a pipe) is held to the same limit.
    if (n > MAX_CONFIG_BYTES) fail([{ file, line: 0, path: '(file)', message: `more than ${sizeText(MAX_CONFIG_BYTES)}, the limit of a config file` }]);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Reads, parses and validates a file. May throw `ConfigError`. */
export function loadConfigFile(file: string): ParsedConfig {
  let buf: Buffer;
  try {
    buf = readBounded(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file, cause: err });
  }
  const bad = invalidUtf8At(buf);
  if (bad >= 0) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (buf[i] === 0x0a) line++;
    fail([{ file, line, path: '(file)', message: `not UTF-8: byte 0x${buf[bad]!.toString(16).padStart(2, '0')} at offset ${bad}` }]);
  }
  return parseConfigText(buf.toString('utf8'), file);
}

/** Validates an already-built raw object (after overrides). `source` names where values came from. */
export function validateRawConfig(raw: unknown, file: string, describe: (path: readonly PropertyKey[]) => string | undefined): AgentConfig {
  const res = AGENT_CONFIG_SCHEMA.safeParse(raw);
  if (res.success) return res.data;
  const problems = res.error.issues.flatMap((issue) => {
    const src = describe(issue.path);
    return issuesToProblems([issue], src ?? file, () => 0);
  });
  fail(problems);
}
