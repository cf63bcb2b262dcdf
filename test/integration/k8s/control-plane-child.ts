// SPDX-License-Identifier: Apache-2.0
// A test process that leaves its control plane behind, for kube-control-plane.test.ts. It writes
// the control plane's directory and pids to argv[3] once ready, then, by argv[2]:
//   fail  a node:test suite whose test fails (the suite's after hook closes the control plane);
//   exit  process.exit(1) from inside a test, so no after hook runs;
//   hang  waits to be killed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { startControlPlane } from '../../helpers/kube-control-plane.js';
import type { ControlPlane } from '../../helpers/kube-control-plane.js';

const [mode, infoFile] = process.argv.slice(2) as [string, string];
const report = (cp: ControlPlane): void => writeFileSync(infoFile, JSON.stringify({ dir: cp.dir, pids: cp.pids() }));

describe(`a test process that ends by "${mode}"`, { timeout: 180_000 }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
    report(cp);
  });
  after(() => cp?.close());
  test('ends', async () => {
    if (mode === 'exit') process.exit(1);
    if (mode === 'hang') await new Promise(() => undefined);
    assert.fail('this test fails on purpose');
  });
});
