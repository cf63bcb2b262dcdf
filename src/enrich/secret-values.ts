// SPDX-License-Identifier: Apache-2.0
/**
 * The default value rules of redaction, written as single-pass scanners
 * instead of regular expressions: every rule looks at each character a
 * bounded number of times, so no input (however crafted) costs more than
 * linear time. Each rule returns ranges to mask; `maskValue` merges them.
 *
 * Rules: `key=value` / `key: value` where the key's last word names a
 * secret (password, token, secret, auth, ... matched as words, so `author`
 * and `auth-mode` are not keys of secrets), `Cookie:` values, URL
 * `user:password@`, `Bearer`/`Basic` credentials, AWS access key ids,
 * `aws_secret_access_key VALUE`, and token shapes (JWT, GitHub, GitLab,
 * Slack, Vault).
 */

export type MaskRange = readonly [start: number, end: number];

const SECRET_WORDS = new Set([
  'password', 'passwd', 'passphrase', 'pwd', 'pass', 'secret', 'token', 'auth', 'authorization', 'credential',
  'credentials', 'jwt', 'bearer', 'apikey', 'privatekey', 'secretkey', 'accesskey', 'authkey', 'authtoken',
]);
const KEY_QUALIFIERS = new Set(['api', 'access', 'private', 'secret', 'signing', 'encryption', 'master', 'client', 'auth']);
const SECRET_SUFFIXES = ['password', 'passwd', 'secret', 'token'];
/** Environment variables that are words of the list but hold no secret. */
const NOT_SECRET_KEYS = new Set(['pwd', 'oldpwd']);
const MAX_KEY = 128;
/** Last letters of the secret words (and of `cookie`). */
const KEY_LAST_LETTERS = 'destnhlry';

/** Splits a key into lowercase words at `_`, `.`, `-` and camelCase boundaries. */
export function keyWords(key: string): string[] {
  const words: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === '_' || c === '.' || c === '-') {
      if (cur) words.push(cur.toLowerCase());
      cur = '';
      continue;
    }
    const prev = key[i - 1];
    if (cur && c >= 'A' && c <= 'Z' && prev !== undefined && prev >= 'a' && prev <= 'z') {
      words.push(cur.toLowerCase());
      cur = '';
    }
    cur += c;
  }
  if (cur) words.push(cur.toLowerCase());
  return words;
}

/** Whether a key (`DB_PASSWORD`, `--auth-token`, `clientSecret`) names a secret: decided by its last word. */
export function isSecretKey(key: string): boolean {
  // Every secret word ends in one of these letters: most keys are refused without splitting them.
  if (!key.length || !KEY_LAST_LETTERS.includes(String.fromCharCode(key.charCodeAt(key.length - 1) | 32))) return false;
  const words = keyWords(key);
  const last = words[words.length - 1];
  if (last === undefined) return false;
  if (words.length === 1 && NOT_SECRET_KEYS.has(last)) return false;
  if (SECRET_WORDS.has(last)) return true;
  if (last === 'key' && words.length > 1 && KEY_QUALIFIERS.has(words[words.length - 2]!)) return true;
  return SECRET_SUFFIXES.some((s) => last.length > s.length && last.endsWith(s));
}

const isKeyChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45;
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;
/** Ends an unquoted value: whitespace & ; , ' " */
const endsValue = (c: number): boolean => isSpace(c) || c === 38 || c === 59 || c === 44 || c === 39 || c === 34;
const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isTokenChar = (c: number): boolean => isWordChar(c) || c === 45 || c === 46;

function skipSpaces(s: string, i: number, max = 4): number {
  let n = 0;
  while (i < s.length && n < max && isSpace(s.charCodeAt(i))) {
    i++;
    n++;
  }
  return i;
}

/** The end of a value starting at `i`: a quoted string, or a run up to a value terminator. */
function valueEnd(s: string, i: number): { start: number; end: number; next: number } {
  const q = s[i];
  if (q === '"' || q === '\'') {
    const close = s.indexOf(q, i + 1);
    const end = close < 0 ? s.length : close;
    return { start: i + 1, end, next: close < 0 ? end : close + 1 };
  }
  let j = i;
  while (j < s.length && !endsValue(s.charCodeAt(j))) j++;
  return { start: i, end: j, next: j };
}

const SCHEMES = ['bearer', 'basic', 'token', 'digest'];

/** Masks each cookie value in `name=v; name2=v2` between `from` and `to`. */
export function cookieRanges(s: string, from: number, to: number, out: MaskRange[]): void {
  let i = from;
  // The next `;` is searched again only once passed, so the scan stays linear without any `;`.
  let semi = -1;
  while (i < to) {
    const eq = s.indexOf('=', i);
    if (eq < 0 || eq >= to) return;
    if (semi !== to && semi <= eq) {
      semi = s.indexOf(';', eq + 1);
      if (semi < 0 || semi > to) semi = to;
    }
    const end = semi;
    let e = end;
    while (e > eq + 1 && isSpace(s.charCodeAt(e - 1))) e--;
    if (e > eq + 1) out.push([eq + 1, e]);
    i = end + 1;
  }
}


/** `key=value`, `key: value` and `Cookie:` rules. */
function keyValueRanges(s: string, out: MaskRange[]): void {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 61 && c !== 58) {
      i++;
      continue;
    }
    // Walk back over optional spaces and a closing quote to the key.
    let k = i;
    while (k > 0 && i - k < 4 && isSpace(s.charCodeAt(k - 1))) k--;
    if (k > 0 && (s[k - 1] === '"' || s[k - 1] === '\'')) k--;
    const keyEnd = k;
    while (k > 0 && keyEnd - k < MAX_KEY && isKeyChar(s.charCodeAt(k - 1))) k--;
    const keyLen = keyEnd - k;
    // Cheap refusals first: every secret word is 3+ letters and ends in one of these letters.
    const lastLetter = keyLen ? s.charCodeAt(keyEnd - 1) | 32 : 0;
    if (keyLen < 3 || !KEY_LAST_LETTERS.includes(String.fromCharCode(lastLetter)) || (c === 58 && s.startsWith('//', i + 1))) {
      i++;
      continue;
    }
    const key = s.slice(k, keyEnd);
    const lower = keyLen === 6 || keyLen === 10 ? key.toLowerCase() : '';
    if (c === 58 && (lower === 'cookie' || lower === 'set-cookie')) {
      let to = s.length;
      for (let j = i + 1; j < s.length; j++) {
        const cj = s.charCodeAt(j);
        if (cj === 34 || cj === 39 || cj === 10) {
          to = j;
          break;
        }
      }
      cookieRanges(s, i + 1, to, out);
      i = to;
      continue;
    }
    if (!key || !isSecretKey(key)) {
      i++;
      continue;
    }
    let v = skipSpaces(s, i + 1);
    // `Authorization: Bearer x` keeps its scheme.
    for (const scheme of SCHEMES) {
      if (s.length > v + scheme.length && s.slice(v, v + scheme.length).toLowerCase() === scheme && isSpace(s.charCodeAt(v + scheme.length))) {
        v = skipSpaces(s, v + scheme.length);
        break;
      }
    }
    const val = valueEnd(s, v);
    if (val.end > val.start) out.push([val.start, val.end]);
    i = Math.max(val.next, i + 1);
  }
}

function indexIn(s: string, ch: string, from: number, to: number): number {
  for (let i = from; i < to; i++) if (s[i] === ch) return i;
  return -1;
}

/** `scheme://user:password@host`, also with an empty user and `/` or `@` in the password. */
function urlRanges(s: string, out: MaskRange[]): void {
  let from = 0;
  for (;;) {
    const at = s.indexOf('://', from);
    if (at < 0) return;
    const start = at + 3;
    let end = start;
    while (end < s.length && !isSpace(s.charCodeAt(end)) && s[end] !== '"' && s[end] !== '\'') end++;
    from = end > start ? end : start;
    // Searches start inside this token only (tokens never overlap): linear overall.
    const firstAt = indexIn(s, '@', start, end);
    if (firstAt < 0) continue;
    let after = firstAt + 1;
    while (after < end && s[after] !== '/' && s[after] !== '?' && s[after] !== '#') after++;
    const lastAt = s.lastIndexOf('@', after - 1);
    const colon = indexIn(s, ':', start, lastAt);
    if (colon < 0) continue;
    if (s.slice(start, colon).includes('/')) continue;
    const pass = s.slice(colon + 1, lastAt);
    // `host:8080/path@x` is a port and a path, not a password.
    if (!pass || /^\d+\//.test(pass)) continue;
    out.push([colon + 1, lastAt]);
  }
}

const AWS_KEY_PREFIXES = new Set(['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'ANPA', 'ANVA', 'AIPA']);
// Anchored, on one token each: linear.
const TOKEN_SHAPES: readonly RegExp[] = [
  /^eyJ[\w-]{2,}\.[\w-]{2,}\.[\w-]*$/, // JWT (header starts with `{"`)
  /^gh[pousr]_[A-Za-z0-9]{30,}$/, /^github_pat_\w{22,}$/, /^glpat-[\w-]{20,}$/, /^xox[abposr]-[\w-]{10,}$/,
  /^hv[sbr]\.[\w-]{20,}$/, /^s\.[A-Za-z0-9]{24}$/, // Vault tokens
];

const SHAPE_STARTS = 'eghxs';

/** Token shapes and AWS access key ids, on runs of token characters. */
function shapeRanges(s: string, out: MaskRange[]): void {
  let i = 0;
  while (i < s.length) {
    if (!isTokenChar(s.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && isTokenChar(s.charCodeAt(j))) j++;
    const tok = s.slice(i, j);
    if (tok.length >= 20 && SHAPE_STARTS.includes(tok[0]!) && TOKEN_SHAPES.some((re) => re.test(tok))) out.push([i, j]);
    else if (tok.length >= 20) {
      // AWS key ids are whole \w-words inside the run.
      let a = i;
      while (a < j) {
        let b = a;
        while (b < j && isWordChar(s.charCodeAt(b))) b++;
        if (b - a === 20 && AWS_KEY_PREFIXES.has(s.slice(a, a + 4)) && /^[A-Z0-9]{16}$/.test(s.slice(a + 4, b))) out.push([a, b]);
        a = b + 1;
      }
    }
    i = j;
  }
}

const BASE64 = /^[A-Za-z0-9+/]{8,}=*$/;

const KEYWORDS = new Set(['bearer', 'basic', 'token', 'aws_secret_access_key', 'aws_session_token']);
/** Literal alternations: linear in any engine. */
const KEYWORD_HINT = /bearer|basic|token|aws_s/i;
const HINT = /[=:]|bearer|basic|token|aws_s/i;
const NONE: readonly MaskRange[] = [];

/** Words after `Bearer`/`Basic` (and `Token` after a header name), `aws_secret_access_key VALUE`. One pass. */
function wordRanges(s: string, out: MaskRange[]): void {
  let pending = '';
  let pendingHeader = false;
  let prevColon = false;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    let a = i;
    while (i < s.length && !isSpace(s.charCodeAt(i))) i++;
    if (i === a) break;
    let b = i;
    const endsColon = s.charCodeAt(b - 1) === 58;
    while (a < b && (s[a] === '"' || s[a] === '\'')) a++;
    if (pending) {
      let e = b;
      while (e > a && (s[e - 1] === '"' || s[e - 1] === '\'')) e--;
      const len = e - a;
      if (len > 0) {
        if (pending === 'bearer' ? pendingHeader || len >= 8
          : pending === 'basic' ? len >= 8 && BASE64.test(s.slice(a, e)) && (pendingHeader || /[0-9+/=]/.test(s.slice(a, e)) || (/[a-z]/.test(s.slice(a, e)) && /[A-Z]/.test(s.slice(a, e))))
            : pending === 'token' ? pendingHeader : true) out.push([a, e]);
      }
      b = e;
    }
    pending = '';
    const len = b - a;
    if (len >= 5 && len <= 21) {
      const c = s.charCodeAt(a) | 32;
      if (c === 98 || c === 116 || c === 97) {
        const w = s.slice(a, b).toLowerCase();
        if (KEYWORDS.has(w)) {
          pending = w;
          pendingHeader = prevColon;
        }
      }
    }
    prevColon = endsColon;
  }
}

/** The ranges the default rules mask in `s` (unsorted, may overlap). */
export function secretRanges(s: string): readonly MaskRange[] {
  // What the rules need at least (one native search of a class and literals, no backtracking):
  // most arguments need no scan at all.
  if (s.length < 20 && !HINT.test(s)) return NONE;
  const out: MaskRange[] = [];
  const colon = s.indexOf(':');
  if (colon >= 0 || s.includes('=')) keyValueRanges(s, out);
  if (colon >= 0) urlRanges(s, out);
  if (s.length >= 20) shapeRanges(s, out);
  if (s.length >= 5 && KEYWORD_HINT.test(s)) wordRanges(s, out);
  return out;
}

/** Replaces each range (merged) by `mask`. Returns `s` itself when there is none. */
export function applyRanges(s: string, ranges: readonly MaskRange[], mask: string): string {
  if (!ranges.length) return s;
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  let out = '';
  let pos = 0;
  let curStart = -1;
  let curEnd = -1;
  const flush = (): void => {
    if (curStart < 0) return;
    out += s.slice(pos, curStart) + mask;
    pos = curEnd;
  };
  for (const [a, b] of sorted) {
    if (b <= a) continue;
    if (curStart >= 0 && a <= curEnd) curEnd = Math.max(curEnd, b);
    else {
      flush();
      curStart = a;
      curEnd = b;
    }
  }
  flush();
  return curStart < 0 ? s : out + s.slice(pos);
}
