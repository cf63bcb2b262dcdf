// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTcpProbe } from '../../../src/probes/tcp/tcp-probe.js';
import { InvalidArgumentError } from '../../../src/lib/errors.js';

// Options are checked before anything is loaded, so these need no root.
const bad: { name: string; options: Parameters<typeof createTcpProbe>[0]; message: RegExp }[] = [
  { name: 'a connection table that is not a power of two', options: { maxConnections: 1000 }, message: /maxConnections 1000 must be a power of two/ },
  { name: 'a zero-sized connection table', options: { maxConnections: 0 }, message: /maxConnections/ },
  { name: 'a ring that is not a power of two', options: { ringBytes: 5000 }, message: /ringBytes 5000 must be a power of two/ },
];

for (const { name, options, message } of bad) {
  test(`createTcpProbe refuses ${name}`, () => {
    assert.throws(() => createTcpProbe(options), (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message));
  });
}
