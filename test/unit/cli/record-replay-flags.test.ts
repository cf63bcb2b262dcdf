// SPDX-License-Identifier: Apache-2.0
// `maxpro record`, `maxpro replay` and the waterfall view flags refuse bad input with an error that
// names the flag, and a recorder that cannot attach leaves no file behind.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordCommand } from '../../../src/cli/commands/record.js';
import { replayCommand } from '../../../src/cli/commands/replay.js';
import { waterfallView } from '../../../src/cli/waterfall-flags.js';
import { createCaptureWriter } from '../../../src/capture/capture-writer.js';
import { CaptureError } from '../../../src/capture/capture-errors.js';
import { InvalidArgumentError, NotFoundError } from '../../../src/lib/errors.js';

const io = () => ({ out: new PassThrough(), err: new PassThrough(), signal: new AbortController().signal });

describe('record, replay and waterfall flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-flags-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const existing = join(dir, 'existing.mxcap');
  createCaptureWriter({ path: existing }).close();
  const noMeta = join(dir, 'no-meta.mxcap');
  const w = createCaptureWriter({ path: noMeta });
  w.append('events', { time: new Date().toISOString(), name: 'process.exec' }, 1n);
  w.close();
  const notCapture = join(dir, 'notes.txt');
  writeFileSync(notCapture, 'hello\n');

  const views: [Record<string, string | boolean>, unknown][] = [
    [{}, {}],
    [{ fold: '10', depth: '0', 'errors-only': true, 'critical-path': true }, { fold: 10, depth: 0, errorsOnly: true, criticalPath: true }],
    [{ fold: '0' }, /--fold '0' must be an integer >= 1/],
    [{ depth: '-1' }, /--depth '-1' must be an integer >= 0/],
    [{ fold: 'all' }, /--fold 'all'/],
  ];
  for (const [values, expected] of views) {
    test(`waterfall flags ${JSON.stringify(values)}`, () => {
      if (expected instanceof RegExp) assert.throws(() => waterfallView(values), (e: unknown) => e instanceof InvalidArgumentError && expected.test(e.message));
      else assert.deepEqual(waterfallView(values), expected);
    });
  }

  const bad: { name: string; cmd: typeof recordCommand; args: string[]; error: RegExp; cls: new (...a: never[]) => Error }[] = [
    { name: 'record without a file', cmd: recordCommand, args: [], error: /give the capture file to write/, cls: InvalidArgumentError },
    { name: 'record with nothing to record', cmd: recordCommand, args: ['-o', join(dir, 'x.mxcap'), '--no-events', '--no-spans'], error: /leave nothing to record/, cls: InvalidArgumentError },
    { name: 'record over an existing capture', cmd: recordCommand, args: ['-o', existing, '--no-spans', '--agent', 'http://127.0.0.1:9'], error: /existing\.mxcap: cannot create the capture/, cls: CaptureError },
    { name: 'record with a bad duration', cmd: recordCommand, args: ['-o', join(dir, 'y.mxcap'), '--duration', 'soon'], error: /--duration 'soon' is not a duration/, cls: InvalidArgumentError },
    { name: 'replay without a file', cmd: replayCommand, args: [], error: /give exactly one capture file/, cls: InvalidArgumentError },
    { name: 'replay at speed 0', cmd: replayCommand, args: [existing, '--speed', '0'], error: /--speed '0' must be a positive number or max/, cls: InvalidArgumentError },
    { name: 'replay with an unknown view', cmd: replayCommand, args: [existing, '--view', 'tree'], error: /--view 'tree' must be lines, table or none/, cls: InvalidArgumentError },
    { name: 'replay of a bad trace id', cmd: replayCommand, args: [existing, '--trace', 'xyz'], error: /--trace 'xyz' must be 32 hex digits/, cls: InvalidArgumentError },
    { name: 'replay with a relative window and no meta block', cmd: replayCommand, args: [noMeta, '--since', '+5s'], error: /no readable meta block/, cls: InvalidArgumentError },
    { name: 'replay of a file that is not a capture', cmd: replayCommand, args: [notCapture, '--speed', 'max'], error: /notes\.txt: not a maxpro capture file/, cls: CaptureError },
    { name: 'diff of one capture', cmd: replayCommand, args: ['--diff', existing], error: /--diff takes two captures/, cls: InvalidArgumentError },
    { name: 'replay with a zero record limit', cmd: replayCommand, args: [existing, '--max-records', '0'], error: /--max-records '0' must be a positive integer/, cls: InvalidArgumentError },
  ];
  for (const b of bad) {
    test(b.name, async () => {
      await assert.rejects(b.cmd.run(b.args, io()), (e: unknown) => e instanceof b.cls && b.error.test((e as Error).message));
    });
  }

  test('a recorder whose agent does not answer fails naming it and leaves no file', async () => {
    const file = join(dir, 'never.mxcap');
    await assert.rejects(recordCommand.run(['-o', file, '--no-spans', '--agent', 'http://127.0.0.1:9'], io()), (e: unknown) => e instanceof NotFoundError && /127\.0\.0\.1:9/.test(e.message));
    assert.equal(existsSync(file), false);
  });
});
