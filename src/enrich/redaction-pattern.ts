// SPDX-License-Identifier: Apache-2.0
/**
 * User redaction patterns run on RE2JS, a JavaScript port of RE2: matching
 * is linear in the input whatever the pattern, and a call costs no copy of
 * the input into another heap (re2-wasm's per-call copy made a global
 * replace quadratic), so a crafted argv cannot stall the agent. RE2 has
 * no lookaround and no backreferences; such patterns are refused when the
 * config is checked, and so are nested quantifiers such as `(a+)+$`
 * (catastrophic in every backtracking engine, and never needed to find a
 * secret) and patterns that match the empty string (they would insert the
 * mask everywhere). A value with more than MAX_MATCHES matches of one
 * pattern is masked whole: the number of replacements is bounded too.
 */
import { RE2JS } from 're2js';

/** Longest accepted pattern, in characters. */
export const MAX_PATTERN_LENGTH = 512;

/** The first nested quantifier in `p` (`(a+)+`, `(?:x*y)*`), or undefined. Ignores escapes and classes. */
export function nestedQuantifier(p: string): string | undefined {
  // One frame per open group: whether something inside it is quantified (unbounded).
  const frames: { start: number; quantified: boolean }[] = [];
  let lastGroup: { start: number; quantified: boolean } | undefined;
  let i = 0;
  const quantifierAt = (j: number): { len: number; unbounded: boolean } | undefined => {
    const c = p[j];
    if (c === '*' || c === '+') return { len: 1, unbounded: true };
    if (c === '?') return { len: 1, unbounded: false };
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(j, j + 24));
      if (m) return { len: m[0].length, unbounded: m[2] !== undefined && (m[3] === '' || Number(m[3]) > 1) || Number(m[1]) > 1 };
    }
    return undefined;
  };
  while (i < p.length) {
    const c = p[i]!;
    let atomIsGroup = false;
    if (c === '\\') i += 2;
    else if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
      i = j + 1;
    } else if (c === '(') {
      frames.push({ start: i, quantified: false });
      i++;
      continue;
    } else if (c === ')') {
      lastGroup = frames.pop();
      atomIsGroup = lastGroup !== undefined;
      i++;
    } else i++;
    const q = quantifierAt(i);
    if (!q) continue;
    if (atomIsGroup && lastGroup!.quantified && q.unbounded) return p.slice(lastGroup!.start, i + q.len);
    if (q.unbounded || (atomIsGroup && lastGroup!.quantified)) {
      const top = frames[frames.length - 1];
      if (top) top.quantified = true;
    }
    i += q.len;
    if (p[i] === '?') i++; // lazy
  }
  return undefined;
}

/** Matches of one pattern in one value before the value is masked whole. */
export const MAX_MATCHES = 256;

function compile(p: string): RE2JS {
  return RE2JS.compile(p, RE2JS.CASE_INSENSITIVE);
}

/** Why `p` is refused as a redaction pattern, or undefined when it is accepted. */
export function checkRedactionPattern(p: string): string | undefined {
  if (p.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  let re: RE2JS;
  try {
    re = compile(p);
  } catch (err) {
    return `invalid regular expression for the linear-time engine (RE2 syntax): ${(err as Error).message.replace(/^error parsing regexp: /, '')}` +
      ' (lookaround and backreferences are not supported)';
  }
  const nested = nestedQuantifier(p);
  if (nested !== undefined) return `nested quantifier ${JSON.stringify(nested)} can backtrack catastrophically; quantify the inner part only`;
  if (re.test('') || matchesEmpty(re, EMPTY_PROBE)) return 'matches the empty string';
  return undefined;
}

/** Word and line boundaries, where a pattern such as `\b` or `^` matches nothing. */
const EMPTY_PROBE = 'a b-1=x\n:/';

function matchesEmpty(re: RE2JS, s: string): boolean {
  const m = re.matcher(s);
  for (let n = 0; n < 32 && m.find(); n++) if (m.end() === m.start()) return true;
  return false;
}

/** Characters of one argv (or one value) that user patterns may search for match positions. */
export const MATCH_SCAN_BUDGET = 4 * 1024;

/** What is left of MATCH_SCAN_BUDGET for one argv. */
export interface ScanBudget {
  chars: number;
}

/** The user patterns of one redactor. */
export interface RedactionRules {
  readonly sources: readonly string[];
  /**
   * Replaces each match of each pattern by `mask`, keeping capture group 1.
   * Returns `value` itself when nothing matched, `undefined` when the value
   * must be masked whole: a pattern matched more than MAX_MATCHES times, or
   * finding the match positions would exceed what is left of `budget`.
   */
  apply(value: string, mask: string, budget: ScanBudget): string | undefined;
}

/*
 * Whether a pattern matches anywhere is answered by RE2's DFA, one fast
 * pass for all patterns at once. Finding match positions and group 1 needs
 * the slower NFA, so it runs only on values that match, within the budget.
 */
function replaceAll(re: RE2JS, value: string, mask: string): string | undefined {
  const m = re.matcher(value);
  const groups = m.groupCount();
  let out = '';
  let pos = 0;
  let n = 0;
  while (m.find()) {
    if (++n > MAX_MATCHES) return undefined;
    const keep = groups > 0 ? m.group(1) : null;
    out += value.slice(pos, m.start()) + (keep ?? '') + mask;
    pos = m.end();
  }
  return out + value.slice(pos);
}

const compiled = new Map<string, RE2JS>();
const MAX_CACHED = 1024;

/** Compiles one accepted pattern, reusing an earlier compilation of the same source. */
function compileOne(p: string): RE2JS {
  const hit = compiled.get(p);
  if (hit) return hit;
  const why = checkRedactionPattern(p);
  if (why !== undefined) throw new TypeError(`redaction pattern ${JSON.stringify(p)}: ${why}`);
  const re = compile(p);
  if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
  compiled.set(p, re);
  return re;
}

/**
 * Compiles accepted patterns (case-insensitive). Throws a TypeError naming
 * the pattern and the reason for a refused one.
 */
export function compileRedactionRules(patterns: readonly string[]): RedactionRules {
  const res = patterns.map(compileOne);
  // One DFA pass decides whether any pattern matches; groups are irrelevant there.
  const any = res.length > 1 ? compile(patterns.map((p) => `(?:${p})`).join('|')) : res[0];
  return {
    sources: patterns,
    apply(value, mask, budget) {
      if (!any || !any.test(value)) return value;
      let out = value;
      for (const re of res) {
        if (res.length > 1 && !re.test(out)) continue;
        if (out.length > budget.chars) return undefined;
        budget.chars -= out.length;
        const next = replaceAll(re, out, mask);
        if (next === undefined) return undefined;
        out = next;
      }
      return out;
    },
  };
}
