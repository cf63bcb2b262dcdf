// SPDX-License-Identifier: Apache-2.0
/**
 * Reads and validates the agent's YAML configuration. Every problem is
 * reported as `file:line: path: reason`; the thrown ConfigError carries all of
 * them (one per line of its message) and the first one's file and line.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../../lib/errors.js';
import { AGENT_CONFIG_SCHEMA } from './agent-config.js';
import type { AgentConfig } from './agent-config.js';

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

/** Parses and validates YAML text. `file` names it in messages. May throw `ConfigError`. */
export function parseConfigText(text: string, file: string): ParsedConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    fail(doc.errors.map((e) => ({
      file, line: e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line, path: '(yaml)', message: e.message.split('\n')[0]!,
    })));
  }
  const raw: unknown = doc.toJS() ?? {};
  const res = AGENT_CONFIG_SCHEMA.safeParse(raw);
  if (!res.success) fail(issuesToProblems(res.error.issues, file, (p, k) => lineOf(doc, lc, p, k)).sort((a, b) => a.line - b.line));
  return { config: res.data, raw };
}

/** Reads, parses and validates a file. May throw `ConfigError`. */
export function loadConfigFile(file: string): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file, cause: err });
  }
  return parseConfigText(text, file);
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
