// SPDX-License-Identifier: Apache-2.0
/**
 * User redaction patterns run on RE2 (compiled to WebAssembly): matching is
 * linear in the input whatever the pattern, so a crafted argv cannot stall
 * the agent. RE2 has no lookaround and no backreferences; such patterns are
 * refused when the config is checked, and so are nested quantifiers such as
 * `(a+)+$` (catastrophic in every backtracking engine, and never needed to
 * find a secret) and patterns that match the empty string (they would
 * insert the mask everywhere).
 */
import { RE2 } from 're2-wasm';

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

/** Why `p` is refused as a redaction pattern, or undefined when it is accepted. */
export function checkRedactionPattern(p: string): string | undefined {
  if (p.length > MAX_PATTERN_LENGTH) return `pattern longer than ${MAX_PATTERN_LENGTH} characters`;
  let re: RE2;
  try {
    re = new RE2(p, 'iu');
  } catch (err) {
    return `invalid regular expression for the linear-time engine (RE2): ${(err as Error).message.replace(/^Invalid regular expression: /, '')}` +
      ' (lookaround and backreferences are not supported)';
  }
  const nested = nestedQuantifier(p);
  if (nested !== undefined) return `nested quantifier ${JSON.stringify(nested)} can backtrack catastrophically; quantify the inner part only`;
  if (re.test('')) return 'matches the empty string';
  return undefined;
}

const cache = new Map<string, RE2>();
const MAX_CACHED = 1024;

/**
 * Compiles an accepted pattern for global, case-insensitive replacement.
 * Compiled patterns are kept (by source) so reloads with the same patterns
 * reuse them. Throws a TypeError naming the reason for a refused pattern.
 */
export function compileRedactionPattern(p: string): RE2 {
  const hit = cache.get(p);
  if (hit) return hit;
  const why = checkRedactionPattern(p);
  if (why !== undefined) throw new TypeError(`redaction pattern ${JSON.stringify(p)}: ${why}`);
  const re = new RE2(p, 'giu');
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(p, re);
  return re;
}
