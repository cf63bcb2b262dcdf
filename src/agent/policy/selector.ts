// SPDX-License-Identifier: Apache-2.0
/**
 * Label selectors in the Kubernetes style: `app=payment,env in (prod,staging)`.
 * Terms are ANDed. Keys name a pod or container label, or one of the
 * workload attributes in SELECTOR_ATTRIBUTES.
 */
import { InvalidArgumentError } from '../../lib/errors.js';

/** Keys that select on workload attributes rather than labels. */
export const SELECTOR_ATTRIBUTES = ['namespace', 'workload', 'pod', 'container', 'comm', 'exe', 'cgroup'] as const;
export type SelectorAttribute = (typeof SELECTOR_ATTRIBUTES)[number];

export type SelectorOperator = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists' | 'regex';

export interface SelectorTerm {
  key: string;
  op: SelectorOperator;
  /** Values for eq/neq (one), in/notin (several); empty for exists/notexists. */
  values: string[];
  /** Compiled for `key=~pattern`. */
  regex?: RegExp;
}

export interface Selector {
  /** The text it was parsed from, normalised. */
  readonly source: string;
  readonly terms: readonly SelectorTerm[];
}

/** What a selector sees of an event's workload. */
export interface SelectorSubject {
  labels: Readonly<Record<string, string>>;
  attributes: Partial<Record<SelectorAttribute, string>>;
  /** The pod's name, when pod metadata is known: shown and exported, not selectable (`pod` selects the UID). */
  podName?: string;
}

const KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/;
const VALUE = /^[A-Za-z0-9._/:@+-]*$/;

function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (quoted) {
      cur += ch;
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: unbalanced ")"`);
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: unterminated quote`);
  if (depth !== 0) throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: unbalanced "("`);
  out.push(cur.trim());
  return out;
}

function checkKey(key: string, text: string): string {
  if (!KEY.test(key)) throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: ${JSON.stringify(key)} is not a valid label key`);
  return key;
}

function checkValue(v: string, text: string): string {
  if (!VALUE.test(v)) throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: ${JSON.stringify(v)} is not a valid label value`);
  return v;
}

function parseTerm(term: string, text: string): SelectorTerm {
  if (term === '') throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: empty term`);
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => checkValue(v.trim(), text));
    if (values.length === 0 || values.some((v) => v === '')) {
      throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: "${set[2]}" needs a non-empty list of values`);
    }
    return { key: checkKey(set[1]!, text), op: set[2] as 'in' | 'notin', values };
  }
  const re = /^([^=!~\s]+)\s*=~\s*(.+)$/.exec(term);
  if (re) {
    let regex: RegExp;
    try {
      regex = new RegExp(re[2]!.replace(/^"(.*)"$/, '$1'));
    } catch (err) {
      throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: invalid regular expression ${JSON.stringify(re[2])}: ${(err as Error).message}`);
    }
    return { key: checkKey(re[1]!, text), op: 'regex', values: [re[2]!], regex };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (cmp) {
    return { key: checkKey(cmp[1]!, text), op: cmp[2] === '!=' ? 'neq' : 'eq', values: [checkValue(cmp[3]!.trim(), text)] };
  }
  if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim(), text), op: 'notexists', values: [] };
  if (/\s/.test(term)) {
    throw new InvalidArgumentError(`selector ${JSON.stringify(text)}: cannot parse ${JSON.stringify(term)} (use key=value, key!=value, key in (a,b), key notin (a,b), key, !key or key=~regex)`);
  }
  return { key: checkKey(term, text), op: 'exists', values: [] };
}

function termText(t: SelectorTerm): string {
  switch (t.op) {
    case 'eq': return `${t.key}=${t.values[0]}`;
    case 'neq': return `${t.key}!=${t.values[0]}`;
    case 'in': return `${t.key} in (${t.values.join(',')})`;
    case 'notin': return `${t.key} notin (${t.values.join(',')})`;
    case 'exists': return t.key;
    case 'notexists': return `!${t.key}`;
    case 'regex': return `${t.key}=~${t.values[0]}`;
  }
}

/** Parses a selector. An empty string selects everything. May throw `InvalidArgumentError`. */
export function parseSelector(text: string): Selector {
  const trimmed = text.trim();
  const terms = trimmed === '' ? [] : splitTerms(trimmed).map((t) => parseTerm(t, trimmed));
  return { source: terms.map(termText).join(','), terms };
}

function isAttribute(key: string): key is SelectorAttribute {
  return (SELECTOR_ATTRIBUTES as readonly string[]).includes(key);
}

/** The value a term's key has for a subject, or undefined when absent. */
export function selectorValue(subject: SelectorSubject, key: string): string | undefined {
  return isAttribute(key) ? subject.attributes[key] : subject.labels[key];
}

/** True when every term holds for the subject. */
export function matchesSelector(selector: Selector, subject: SelectorSubject): boolean {
  for (const t of selector.terms) {
    const v = selectorValue(subject, t.key);
    switch (t.op) {
      case 'eq': if (v !== t.values[0]) return false; break;
      case 'neq': if (v === t.values[0]) return false; break;
      case 'in': if (v === undefined || !t.values.includes(v)) return false; break;
      case 'notin': if (v !== undefined && t.values.includes(v)) return false; break;
      case 'exists': if (v === undefined) return false; break;
      case 'notexists': if (v !== undefined) return false; break;
      case 'regex': if (v === undefined || !t.regex!.test(v)) return false; break;
    }
  }
  return true;
}
