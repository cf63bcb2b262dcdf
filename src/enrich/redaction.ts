// SPDX-License-Identifier: Apache-2.0
/**
 * Removes secrets from command lines and environment-like values before an
 * event reaches any output. The default rules are linear-time scanners
 * (`secret-values.ts` for values, `secret-args.ts` for program-aware flags
 * and nested commands); user rules are RE2 patterns (`redaction-pattern.ts`):
 * the whole match is replaced by the mask, except capture group 1, which is
 * kept (`(--pin=)\d+` turns `--pin=1234` into `--pin=***`).
 *
 * Every cost is linear in the input. A value longer than MAX_REDACTED_VALUE,
 * or a shell script longer than MAX_REDACTED_SCRIPT, is masked whole rather
 * than scanned (counted as `oversize`). User patterns are tested on every
 * value (one DFA pass), but match positions are searched in at most
 * MATCH_SCAN_BUDGET characters per argv; a matching value past that, or
 * with more than MAX_MATCHES matches, is masked whole (`overmatched`).
 */
import { InvalidArgumentError } from '../lib/errors.js';
import { compileRedactionRules, MATCH_SCAN_BUDGET } from './redaction-pattern.js';
import type { RedactionRules, ScanBudget } from './redaction-pattern.js';
import { planArgs, splitScript } from './secret-args.js';
import type { ArgAction } from './secret-args.js';
import { applyRanges, secretRanges } from './secret-values.js';

export const REDACTION_MASK = '***';
/** Longest value scanned, in UTF-16 units; longer values are masked whole (and counted). */
export const MAX_REDACTED_VALUE = 64 * 1024;
/** Longest shell script (`sh -c`) parsed for program-aware rules; longer ones are masked whole (and counted). */
export const MAX_REDACTED_SCRIPT = 8 * 1024;

const SCRIPT_SYNTAX = /[\s;&|()<>'"\\]/;

export interface RedactorOptions {
  /** Extra RE2-syntax rules added to the defaults (case-insensitive; group 1 is kept). */
  extraPatterns?: readonly string[];
  mask?: string;
}

export interface RedactorStats {
  /** Values in which something was masked. */
  redacted: number;
  /** Values masked whole because they exceeded MAX_REDACTED_VALUE (or a script MAX_REDACTED_SCRIPT). */
  oversize: number;
  /** Values masked whole because a user pattern matched past the argv's scan budget or too often. */
  overmatched: number;
}

export interface Redactor {
  /** Masks secrets in one value. */
  redact(value: string): string;
  /** Masks secrets in an argument vector (program-aware). Returns a new array only when something changed. */
  redactArgs(args: readonly string[]): string[];
  stats(): RedactorStats;
}

/** A redactor whose rules can be replaced; everyone holding it sees the replacement at once. */
export interface RedactorHandle extends Redactor {
  replace(next: Redactor): void;
}

/** Creates a redactor. May throw `InvalidArgumentError` for a refused pattern. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const mask = options.mask ?? REDACTION_MASK;
  let rules: RedactionRules;
  try {
    rules = compileRedactionRules(options.extraPatterns ?? []);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message, { cause: err });
  }
  let redacted = 0;
  let oversize = 0;
  let overmatched = 0;

  const values = (value: string, budget: ScanBudget): string => {
    const out = applyRanges(value, secretRanges(value), mask);
    const user = rules.apply(out, mask, budget);
    if (user !== undefined) return user;
    // Too many matches, or past the argv's budget for finding them: the whole value goes.
    overmatched++;
    return mask;
  };

  const script = (s: string, depth: number): string => {
    // One word and nothing else: a command without arguments, no flag to look at.
    if (!SCRIPT_SYNTAX.test(s)) return s;
    let out = '';
    let pos = 0;
    for (const words of splitScript(s)) {
      const actions = new Map<number, ArgAction>();
      planArgs(words.map((w) => w.text), 0, actions, depth);
      for (const [i, act] of [...actions].sort((x, y) => x[0] - y[0])) {
        const w = words[i]!;
        const replaced = act.kind === 'script' ? script(w.text, depth + 1) : applyRanges(w.text, act.ranges, mask);
        if (replaced === w.text) continue;
        // A word with mixed quoting, or a replacement that would need quoting again, is masked whole.
        const span: readonly [number, number] = w.inner && !/["'\\]/.test(replaced) ? w.inner : [w.start, w.end];
        out += s.slice(pos, span[0]) + (span === w.inner ? replaced : mask);
        pos = span[1];
      }
    }
    return pos ? out + s.slice(pos) : s;
  };

  const redact = (value: string): string => {
    if (value.length > MAX_REDACTED_VALUE) {
      oversize++;
      redacted++;
      return mask;
    }
    const out = values(value, { chars: MATCH_SCAN_BUDGET });
    if (out !== value) redacted++;
    return out;
  };

  return {
    redact,
    redactArgs(args: readonly string[]): string[] {
      const actions = new Map<number, ArgAction>();
      planArgs(args, 0, actions);
      const budget = { chars: MATCH_SCAN_BUDGET };
      let out: string[] | undefined;
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        let r: string;
        if (a.length > MAX_REDACTED_VALUE) {
          oversize++;
          r = mask;
        } else {
          const act = actions.get(i);
          if (act?.kind === 'script' && a.length > MAX_REDACTED_SCRIPT) {
            oversize++;
            r = mask;
          } else {
            r = act === undefined ? a : act.kind === 'script' ? script(a, 1) : applyRanges(a, act.ranges, mask);
            r = values(r, budget);
          }
        }
        if (r !== a) {
          redacted++;
          out ??= args.slice();
          out[i] = r;
        }
      }
      return out ?? (args as string[]);
    },
    stats: () => ({ redacted, oversize, overmatched }),
  };
}

/** A replaceable redactor (for reloads): holders keep the handle, `replace` swaps the rules under it. */
export function createRedactorHandle(initial: Redactor): RedactorHandle {
  let cur = initial;
  // Counts of replaced redactors, so the stats never go down across a reload.
  let base: RedactorStats = { redacted: 0, oversize: 0, overmatched: 0 };
  const sum = (s: RedactorStats): RedactorStats =>
    ({ redacted: base.redacted + s.redacted, oversize: base.oversize + s.oversize, overmatched: base.overmatched + s.overmatched });
  return {
    redact: (v) => cur.redact(v),
    redactArgs: (a) => cur.redactArgs(a),
    stats: () => sum(cur.stats()),
    replace(next) {
      base = sum(cur.stats());
      cur = next;
    },
  };
}
