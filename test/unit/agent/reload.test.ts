// SPDX-License-Identifier: Apache-2.0
// Hot reload: a change to the file reloads it; an invalid file is refused with the reason and the
// running configuration stays in force; SIGHUP reloads too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchReloads } from '../../../src/cli/commands/agent.js';
import type { AgentConfig } from '../../../src/agent/config/agent-config.js';
import { waitFor } from '../../helpers/kernel.js';

describe('watchReloads', () => {
  test('file change, invalid file, SIGHUP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-reload-'));
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'http:\n  listen: 127.0.0.1:1000\n');
    const applied: AgentConfig[] = [];
    let err = '';
    const io = {
      out: process.stdout,
      err: { write: (s: string) => { err += s; return true; } } as unknown as NodeJS.WritableStream,
      signal: new AbortController().signal,
    };
    const stop = watchReloads({ reload: async (c) => { applied.push(c); } }, { file, env: {} }, io);
    try {
      writeFileSync(file, 'http:\n  listen: 127.0.0.1:2000\n');
      assert.ok(await waitFor(() => applied.length === 1, 5000), err);
      assert.equal(applied[0]!.http.listen, '127.0.0.1:2000');

      writeFileSync(file, 'http:\n  listen: 127.0.0.1:3000\n  bogus: true\n');
      assert.ok(await waitFor(() => /refused/.test(err), 5000), err);
      assert.match(err, /reload \(file changed\) refused, the previous configuration stays in force:\n.*agent\.yaml:3: http\.bogus: unknown key "bogus"/);
      assert.equal(applied.length, 1, 'the invalid file was not applied');

      writeFileSync(file, 'http:\n  listen: 127.0.0.1:4000\n');
      assert.ok(await waitFor(() => applied.length === 2, 5000), err);
      process.kill(process.pid, 'SIGHUP');
      assert.ok(await waitFor(() => applied.length === 3, 5000), err);
      assert.match(err, /reload \(SIGHUP\): applied/);
      assert.equal(applied[2]!.http.listen, '127.0.0.1:4000');
    } finally {
      stop();
    }
  });
});
