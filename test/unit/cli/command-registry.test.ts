// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../../src/cli/command-registry.js';

const COMMANDS_DIR = new URL('../../../src/cli/commands/', import.meta.url);
const MAIN_URL = new URL('../../../src/cli/main.js', import.meta.url).href;

// Resolve hook for the child process: appends every file URL it resolves to a log.
// Hooks run on their own thread, so the log is a file rather than memory.
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:')) appendFileSync(log, r.url + '\\n');
  return r;
}`;

/** Imports main.js in a fresh node, then runs `maxpro ...argv`; returns the file URLs resolved before and after the import finished. */
function modulesLoaded(argv: string[]): { atImport: string[]; atRun: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-lazy-'));
  try {
    const log = join(dir, 'resolved.log');
    const script = `import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
import { Writable } from 'node:stream';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)}, { data: { log: ${JSON.stringify(log)} } });
const { main } = await import(${JSON.stringify(MAIN_URL)});
appendFileSync(${JSON.stringify(log)}, 'IMPORTED\\n');
const sink = new Writable({ write(_c, _e, cb) { cb(); } });
process.exitCode = await main(${JSON.stringify(argv)}, { out: sink, err: sink, signal: new AbortController().signal });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const mark = lines.indexOf('IMPORTED');
    assert.ok(mark >= 0, 'child never finished importing main.js');
    return { atImport: lines.slice(0, mark), atRun: lines.slice(mark + 1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Values exported by a module that have the Command shape. */
function commandsIn(mod: Record<string, unknown>): { name: string }[] {
  return Object.values(mod).filter((v): v is { name: string } =>
    typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string'
    && typeof (v as { help?: unknown }).help === 'string' && typeof (v as { run?: unknown }).run === 'function');
}

describe('command registry', () => {
  test('names are unique and every entry has a one-line summary', () => {
    assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
    for (const c of COMMANDS) assert.match(c.summary, /^[^\n]+$/, c.name);
  });

  test('each entry loads the command of the same name', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      assert.equal(command.name, entry.name);
    }
  });

  test('every command exported from src/cli/commands has an entry', async () => {
    const registered = new Set(COMMANDS.map((c) => c.name));
    const files = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.js'));
    assert.ok(files.length > 0);
    for (const file of files) {
      const mod = await import(new URL(file, COMMANDS_DIR).href) as Record<string, unknown>;
      for (const command of commandsIn(mod)) assert.ok(registered.has(command.name), `${file}: '${command.name}' is not in COMMANDS`);
    }
  });

  test('importing the CLI loads no command module; running one loads only its own', () => {
    const commandsDir = COMMANDS_DIR.href;
    const { atImport, atRun } = modulesLoaded(['doctor', '--help']);
    // The hook saw the import, so an empty list below means "not loaded", not "not observed".
    assert.ok(atImport.some((u) => u.endsWith('/src/cli/command-registry.js')), atImport.join('\n'));
    assert.deepEqual(atImport.filter((u) => u.startsWith(commandsDir)), []);
    assert.deepEqual(atRun.filter((u) => u.startsWith(commandsDir)).map((u) => fileURLToPath(u).split('/').pop()), ['doctor.js']);
  });
});
