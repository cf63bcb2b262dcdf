// SPDX-License-Identifier: Apache-2.0
/**
 * Program-aware rules for an argument vector: which arguments (or which part
 * of them) are secrets because of the flag before them and the program they
 * belong to. `-p` is a password for mysql and its tools, sshpass and mongo,
 * and a port or a mode elsewhere (`ssh -p 22`, `mkdir -p`, `docker run -p`),
 * so the program decides. Wrappers (`sudo`, `env`, `nohup`, ...) are skipped
 * to find the program, and commands inside commands are followed: the
 * script of `sh -c`, the remote command of `ssh`, what follows `sshpass` or
 * `kubectl exec ... --`.
 */
import { cookieRanges, isSecretKey } from './secret-values.js';
import type { MaskRange } from './secret-values.js';

/** What to do with one argument: mask ranges of it, or redact it as a shell script. */
export type ArgAction = { kind: 'ranges'; ranges: MaskRange[] } | { kind: 'script' };

const MAX_DEPTH = 4;

const basename = (p: string): string => {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? p : p.slice(slash + 1);
};

/** Flags whose next argument is a secret, for every program. */
export const GENERIC_SECRET_FLAGS: ReadonlySet<string> = new Set([
  '--password', '--passwd', '--pass', '--token', '--secret', '--api-key', '--apikey', '--access-key', '--secret-key',
  '--client-secret', '--auth-token', '--bearer', '--jwt', '--oauth2-bearer', '--access-token', '--refresh-token',
  '--id-token', '--private-token', '-token', '-password', '-passwd', '-secret', '-apikey',
  // `Authorization: Bearer <t>` split into words by a shell.
  'Bearer', 'bearer', 'Basic',
  // `aws configure set aws_secret_access_key VALUE` and similar positional forms.
  'aws_secret_access_key', 'aws_session_token',
]);

const MYSQL_LIKE = new Set([
  'mysql', 'mysqldump', 'mysqladmin', 'mysqlimport', 'mysqlshow', 'mysqlcheck', 'mysqlpump', 'mysqlslap', 'mysqlbinlog',
  'mysqlsh', 'mariadb', 'mariadb-dump', 'mariadb-admin', 'mariadb-import', 'mariadb-check', 'mariadb-show', 'mariadb-slap',
  'mariadb-binlog', 'mycli', 'mongo', 'mongosh', 'mongodump', 'mongorestore', 'mongoexport', 'mongoimport', 'mongostat',
  'mongotop', 'mongofiles',
]);
/** Programs where `-pSECRET` (attached only) is a password. */
const ATTACHED_P = new Set(['7z', '7za', '7zr', 'rar', 'unrar']);
/** Program → short flags whose next argument is a password. */
const PASSWORD_FLAGS: ReadonlyMap<string, readonly string[]> = new Map(Object.entries({
  'redis-cli': ['-a'], 'ldapsearch': ['-w'], 'ldapadd': ['-w'], 'ldapmodify': ['-w'], 'ldapdelete': ['-w'],
  'ldapwhoami': ['-w'], 'ldappasswd': ['-w', '-s'], 'zip': ['-P'], 'unzip': ['-P'], 'sqlcmd': ['-P'], 'bcp': ['-P'],
  'openssl': ['-k'], 'keytool': ['-storepass', '-keypass', '-srcstorepass', '-deststorepass', '-srckeypass', '-destkeypass'],
  'jarsigner': ['-storepass', '-keypass'],
}));
const OPENSSL_PASS = new Set(['-passin', '-passout', '-pass', '-passphrase']);
const LOGIN_TOOLS = new Set(['docker', 'podman', 'nerdctl', 'buildah', 'skopeo', 'helm', 'oras']);
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'mksh', 'busybox']);
const SMB = new Set(['smbclient', 'rpcclient', 'smbmap', 'smbcacls', 'net']);
const RDP = new Set(['xfreerdp', 'wlfreerdp', 'sdl-freerdp', 'xfreerdp3']);

const WRAPPERS = new Set(['sudo', 'doas', 'env', 'nohup', 'nice', 'time', 'timeout', 'exec', 'command', 'stdbuf', 'ionice', 'setsid', 'unbuffer', 'xargs', 'watch', 'chrt', 'taskset']);
/** Wrapper options that take an argument. */
const WRAPPER_OPTS: ReadonlyMap<string, readonly string[]> = new Map(Object.entries({
  sudo: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T'], doas: ['-u', '-C'], env: ['-u', '-C', '-S'],
  nice: ['-n'], timeout: ['-s', '-k'], stdbuf: ['-i', '-o', '-e'], ionice: ['-c', '-n', '-p'], watch: ['-n', '-d'],
  xargs: ['-n', '-L', '-I', '-P', '-d', '-E', '-s', '-a'],
}));
/** Wrappers followed by one positional argument before the command. */
const WRAPPER_POSITIONAL = new Set(['timeout', 'chrt', 'taskset']);
const SSH_OPTS_WITH_ARG = new Set(['-p', '-i', '-l', '-o', '-F', '-J', '-L', '-R', '-D', '-b', '-c', '-e', '-m', '-O', '-Q', '-S', '-W', '-w', '-E', '-B', '-I']);

const whole = (a: string): MaskRange[] => [[0, a.length]];
const from = (a: string, i: number): MaskRange[] => (i < a.length ? [[i, a.length]] : []);

/** Index of the program in `args` at or after `i`, skipping wrappers and their options. */
function commandIndex(args: readonly string[], i: number): number {
  for (let hops = 0; hops < 8 && i < args.length; hops++) {
    const name = basename(args[i]!);
    if (!WRAPPERS.has(name)) return i;
    i++;
    let positional = WRAPPER_POSITIONAL.has(name);
    while (i < args.length) {
      const a = args[i]!;
      if (a === '--') {
        i++;
        break;
      }
      if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) i++;
      else if (a.length > 1 && a.startsWith('-')) i += WRAPPER_OPTS.get(name)?.includes(a) ? 2 : 1;
      else if (positional) {
        positional = false;
        i++;
      } else break;
    }
  }
  return i;
}

/** Positional arguments (not starting with `-`) after `start`, up to `max`. */
function positionals(args: readonly string[], start: number, max: number): number[] {
  const out: number[] = [];
  for (let j = start; j < args.length && out.length < max; j++) if (!args[j]!.startsWith('-')) out.push(j);
  return out;
}

/** A long flag, not `--no-…`, whose last word names a secret: `--db-password`, `--registry-token`. */
function isSecretLongFlag(a: string): boolean {
  return a.startsWith('--') && !a.includes('=') && !a.startsWith('--no-') && a.length > 3 && isSecretKey(a.slice(2));
}

/**
 * Fills `actions` for the command starting at `start` in `args` (and the
 * commands it runs). Indices with no action are left alone.
 */
export function planArgs(args: readonly string[], start: number, actions: Map<number, ArgAction>, depth = 0): void {
  if (depth > MAX_DEPTH) return;
  const cmd = commandIndex(args, start);
  if (cmd >= args.length) return;
  const prog = basename(args[cmd]!);
  const set = (j: number, ranges: MaskRange[]): void => {
    if (j < args.length && ranges.length) actions.set(j, { kind: 'ranges', ranges });
  };
  const login = LOGIN_TOOLS.has(prog) && positionals(args, cmd + 1, 3).some((j) => args[j] === 'login');
  const passwordP = MYSQL_LIKE.has(prog) || prog === 'sshpass' || login;
  const own = PASSWORD_FLAGS.get(prog) ?? [];
  // What the program is, decided once for the loop below.
  const curl = prog === 'curl';
  const openssl = prog === 'openssl';
  const smb = SMB.has(prog);
  const rdp = RDP.has(prog);
  const shell = SHELLS.has(prog);
  const kube = prog === 'kubectl' || prog === 'oc';
  const attachedP = passwordP || ATTACHED_P.has(prog);

  // Where this program's own arguments end and a command it runs begins.
  let end = args.length;
  if (prog === 'sshpass') {
    // sshpass [-p pw | -f file | -e | -d fd] command ...
    end = cmd + 1;
    while (end < args.length && args[end]!.startsWith('-')) end += ['-p', '-f', '-d', '-P'].includes(args[end]!) ? 2 : 1;
    end = Math.min(end, args.length);
    planArgs(args, end, actions, depth + 1);
  } else if (prog === 'ssh') {
    let host = cmd + 1;
    while (host < args.length && args[host]!.startsWith('-')) host += SSH_OPTS_WITH_ARG.has(args[host]!) ? 2 : 1;
    end = Math.min(host + 1, args.length);
    if (end === args.length - 1) actions.set(end, { kind: 'script' });
    else if (end < args.length) planArgs(args, end, actions, depth + 1);
  }

  for (let j = cmd + 1; j < end; j++) {
    const a = args[j]!;
    const next = args[j + 1];
    // Most arguments are not options: only the generic words (`Bearer`, `aws_secret_access_key`) and RDP's `/p:` apply.
    if (a.charCodeAt(0) !== 45) {
      if (GENERIC_SECRET_FLAGS.has(a)) {
        if (next !== undefined) set(j + 1, whole(next));
        j++;
      } else if (rdp && (a.startsWith('/p:') || a.startsWith('/password:'))) set(j, from(a, a.indexOf(':') + 1));
      continue;
    }
    if (GENERIC_SECRET_FLAGS.has(a) || own.includes(a) || (isSecretLongFlag(a) && next !== undefined && !next.startsWith('--'))) {
      if (next !== undefined) set(j + 1, whole(next));
      j++;
      continue;
    }
    if (passwordP && a === '-p') {
      // `mysql -p` alone prompts; the next word is then another option.
      if (next !== undefined && !(prog !== 'sshpass' && next.length > 1 && next.startsWith('-'))) set(j + 1, whole(next));
      j++;
      continue;
    }
    if (attachedP && a.startsWith('-p') && a.length > 2 && !a.startsWith('--')) {
      set(j, from(a, 2));
      continue;
    }
    if (curl && (a === '-u' || a === '--user' || a === '-U' || a === '--proxy-user') && next !== undefined) {
      const c = next.indexOf(':');
      if (c >= 0) set(j + 1, from(next, c + 1));
      j++;
      continue;
    }
    if (curl && a.startsWith('-u') && a.length > 2 && !a.startsWith('--') && a.includes(':')) {
      set(j, from(a, a.indexOf(':') + 1));
      continue;
    }
    if (curl && (a === '-b' || a === '--cookie') && next !== undefined) {
      const r: MaskRange[] = [];
      cookieRanges(next, 0, next.length, r);
      set(j + 1, r);
      j++;
      continue;
    }
    if (openssl && OPENSSL_PASS.has(a) && next !== undefined) {
      if (next.startsWith('pass:')) set(j + 1, from(next, 5));
      j++;
      continue;
    }
    if (smb && (a === '-U' || a === '--user') && next !== undefined) {
      const c = next.indexOf('%');
      if (c >= 0) set(j + 1, from(next, c + 1));
      j++;
      continue;
    }
    if (shell && /^-[A-Za-z]*c[A-Za-z]*$/.test(a) && next !== undefined) {
      actions.set(j + 1, { kind: 'script' });
      j++;
      continue;
    }
    if (prog === 'su' && (a === '-c' || a === '--command') && next !== undefined) {
      actions.set(j + 1, { kind: 'script' });
      j++;
      continue;
    }
    if (kube && a === '--') {
      planArgs(args, j + 1, actions, depth + 1);
      return;
    }
  }

  if (prog === 'vault' || prog === 'bao') {
    // `vault login TOKEN`: the first positional after `login` (not `key=value`, which the value rules see).
    const p = positionals(args, cmd + 1, 2);
    if (args[p[0] ?? -1] === 'login' && p[1] !== undefined && !args[p[1]]!.includes('=')) set(p[1], whole(args[p[1]]!));
  }
  if (prog === 'aws') {
    // `aws configure set KEY VALUE` with a secret KEY (also `profile.x.aws_secret_access_key`).
    const p = positionals(args, cmd + 1, 4);
    if (args[p[0] ?? -1] === 'configure' && args[p[1] ?? -1] === 'set' && p[3] !== undefined && isSecretKey(args[p[2]!]!)) {
      set(p[3], whole(args[p[3]]!));
    }
  }
}

interface ScriptWord {
  text: string;
  /** Raw span in the script. */
  start: number;
  end: number;
  /** The span whose raw text equals `text` (the word without its quotes), when there is one. */
  inner?: [number, number];
}

const PLAIN_STOP = ' \t\n;&|()<>\'"\\';

/** Splits a shell script into commands of words (quotes, escapes, `; & | ( ) < >` and newlines). Linear. */
export function splitScript(s: string): ScriptWord[][] {
  const commands: ScriptWord[][] = [];
  let words: ScriptWord[] = [];
  let text = '';
  let start = -1;
  let quotes = 0;
  let escaped = false;
  let quotedWhole = false;
  const endWord = (end: number): void => {
    if (start >= 0) {
      const w: ScriptWord = { text, start, end };
      if (!quotes && !escaped) w.inner = [start, end];
      else if (quotes === 1 && quotedWhole && !escaped) w.inner = [start + 1, end - 1];
      words.push(w);
    }
    text = '';
    start = -1;
    quotes = 0;
    escaped = false;
    quotedWhole = false;
  };
  const endCommand = (end: number): void => {
    endWord(end);
    if (words.length) commands.push(words);
    words = [];
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      endWord(i);
      i++;
    } else if (c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')' || c === '<' || c === '>') {
      endCommand(i);
      i++;
    } else if (c === '\'' || c === '"') {
      if (start < 0) {
        start = i;
        quotedWhole = true;
      }
      quotes++;
      let j = i + 1;
      let seg = j;
      while (j < s.length && s[j] !== c) {
        if (c === '"' && s[j] === '\\' && j + 1 < s.length) {
          escaped = true;
          text += s.slice(seg, j);
          j++;
          seg = j;
        }
        j++;
      }
      text += s.slice(seg, j);
      i = j + 1;
      if (i < s.length && !' \t\n;&|()<>'.includes(s[i]!)) quotedWhole = false;
    } else if (c === '\\' && i + 1 < s.length) {
      if (start < 0) start = i;
      escaped = true;
      text += s[i + 1];
      i += 2;
    } else {
      if (start < 0) start = i;
      else if (quotes) quotedWhole = false;
      // A run of plain characters at once (fewer intermediate strings).
      let j = i + 1;
      while (j < s.length && !PLAIN_STOP.includes(s[j]!)) j++;
      text += s.slice(i, j);
      i = j;
    }
  }
  endCommand(s.length);
  return commands;
}
