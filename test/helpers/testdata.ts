// SPDX-License-Identifier: Apache-2.0
/** Where the shared test data lives: $MAXPRO_TESTDATA, else <repo>/../shared/testdata. */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export function testdataDir(): string {
  return process.env['MAXPRO_TESTDATA'] ?? resolve(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'testdata');
}
