// SPDX-License-Identifier: Apache-2.0
/**
 * The benchmark's peer: the regular-expression redactor the linear-time
 * scanners replaced, kept as it was so both run in the same process.
 *
 * Removes secrets from command lines and environment-like values before an
 * event reaches any output. Rules are regular expressions: the whole match is
 * replaced by the mask, except capture group 1, which is kept (so
 * `--password=hunter2` becomes `--password=***`). A second list names flags
 * whose *next* argument is a secret (`-p <pw>`).
 */
import { InvalidArgumentError } from '../../src/lib/errors.js';

export const REDACTION_MASK = '***';

/**
 * Default value rules: key=value forms of passwords, tokens, secrets and
 * keys (also in environment assignments and URL queries), credentials in
 * URLs, bearer and basic authorization, AWS access key ids.
 */
export const DEFAULT_REDACTION_PATTERNS: readonly RegExp[] = [
  /(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*/gi,
  /(\bbasic\s+)[A-Za-z0-9+/]{8,}=*/gi,
  // After the bearer/basic rules, so `Authorization: Bearer x` keeps its scheme.
  /((?:^|[^A-Za-z0-9])[\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|auth)[\w.-]*\s*[=:]\s*)(?!(?:bearer|basic)\s)(?:"[^"]*"|'[^']*'|[^\s&;,'"]+)/gi,
  /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:)[^@/\s]+(?=@)/gi,
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g,
  /(\b(?:aws_secret_access_key|aws_session_token)\s+)\S+/gi,
  // A secret flag and its value inside one string, e.g. `sh -c "mysql -p pw"`.
  /((?:^|\s)(?:-p|--pass(?:word|wd)?|--token|--secret|--api-?key|--client-secret|--auth-token)\s+)(?!\d+(?:\s|$)|[/.~-])[^\s'"]+/gi,
];

/**
 * Default flags whose next argument is a secret. `-p` is both "password"
 * (mysql, sshpass) and harmless elsewhere (`mkdir -p`, `ssh -p 22`), so its
 * value is masked unless it is a number or looks like a path.
 */
export const DEFAULT_SECRET_FLAGS: readonly string[] = [
  '-p', '--password', '--passwd', '--pass', '--token', '--secret', '--api-key', '--apikey',
  '--access-key', '--secret-key', '--client-secret', '--auth-token', '--bearer', '-token',
  // `Authorization: Bearer <t>` split into words by a shell.
  'Bearer', 'bearer', 'Basic',
];

export interface RedactorOptions {
  /** Value rules; default DEFAULT_REDACTION_PATTERNS. Strings are compiled with flags `gi`. */
  patterns?: readonly (RegExp | string)[];
  /** Extra value rules added to the defaults. */
  extraPatterns?: readonly (RegExp | string)[];
  /** Flags whose next argument is masked; default DEFAULT_SECRET_FLAGS. */
  secretFlags?: readonly string[];
  mask?: string;
}

export interface RedactorStats {
  /** Values in which something was masked. */
  redacted: number;
}

export interface Redactor {
  /** Masks secrets in one value. */
  redact(value: string): string;
  /** Masks secrets in an argument vector (also flag/value pairs). Returns a new array only when something changed. */
  redactArgs(args: readonly string[]): string[];
  stats(): RedactorStats;
}

function compile(p: RegExp | string): RegExp {
  if (typeof p === 'string') {
    try {
      return new RegExp(p, 'gi');
    } catch (err) {
      throw new InvalidArgumentError(`redaction pattern ${JSON.stringify(p)} is not a valid regular expression`, { cause: err });
    }
  }
  return p.global ? p : new RegExp(p.source, `${p.flags}g`);
}

const PLAIN_VALUE = /^(?:\d+|[/.~].*)$/;

/*
 * What every default rule needs somewhere in a value: a separator, a key-id
 * prefix, an auth scheme or a flag. A value without any of them cannot
 * match the defaults, so the rules are skipped for it (most arguments).
 */
const DEFAULT_PREFILTER = /[=:@]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|bearer|basic|aws_|(?:^|\s)-/i;

/** Creates a redactor. May throw `InvalidArgumentError` for a bad pattern. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const rules = [...(options.patterns ?? DEFAULT_REDACTION_PATTERNS), ...(options.extraPatterns ?? [])].map(compile);
  const flags = new Set(options.secretFlags ?? DEFAULT_SECRET_FLAGS);
  const mask = options.mask ?? REDACTION_MASK;
  const prefilter = options.patterns === undefined && (options.extraPatterns ?? []).length === 0 ? DEFAULT_PREFILTER : undefined;
  let redacted = 0;

  const redact = (value: string): string => {
    if (prefilter && !prefilter.test(value)) return value;
    let out = value;
    for (const re of rules) {
      re.lastIndex = 0;
      if (!re.test(out)) continue;
      re.lastIndex = 0;
      out = out.replace(re, (...m: unknown[]) => {
        const keep = typeof m[1] === 'string' ? m[1] : '';
        return `${keep}${mask}`;
      });
    }
    if (out !== value) redacted++;
    return out;
  };

  return {
    redact,
    redactArgs(args: readonly string[]): string[] {
      let out: string[] | undefined;
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        let r = redact(a);
        const prev = i > 0 ? args[i - 1]! : undefined;
        if (prev !== undefined && flags.has(prev) && r !== mask && !(prev === '-p' && PLAIN_VALUE.test(a))) {
          r = mask;
          redacted++;
        }
        if (r !== a) {
          out ??= args.slice();
          out[i] = r;
        }
      }
      return out ?? (args as string[]);
    },
    stats: () => ({ redacted }),
  };
}
