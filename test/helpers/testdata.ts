// SPDX-License-Identifier: Apache-2.0
/** Where the shared test data lives: $MAXPRO_TESTDATA, else <repo>/../shared/testdata. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/**
 * The directory, or a clear error when it is missing: the tests that read it
 * need it (a skip would hide that the suite did not run them).
 */
export function testdataDir(): string {
  const dir = process.env['MAXPRO_TESTDATA'] ?? resolve(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'testdata');
  if (!existsSync(dir)) {
    throw new Error(`shared test data not found at ${dir}: clone the repository beside shared/ or set MAXPRO_TESTDATA`);
  }
  return dir;
}
