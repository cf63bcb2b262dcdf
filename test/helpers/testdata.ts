// SPDX-License-Identifier: Apache-2.0
/** Where the shared test data lives: $MAXPRO_TESTDATA, else <repo>/../shared/testdata. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export interface Testdata {
  /** The directory (or the sub-directory asked for). */
  dir: string;
  /** false when present, else why the tests reading it skip (a node:test `skip` value). */
  skip: false | string;
}

/**
 * The shared test data, or a stated skip reason when this clone does not
 * sit beside shared/ and MAXPRO_TESTDATA is unset, so a clone anywhere runs
 * the suite (the skips say what did not run).
 */
export function sharedTestdata(...sub: string[]): Testdata {
  const base = process.env['MAXPRO_TESTDATA'] ?? resolve(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'testdata');
  const dir = join(base, ...sub);
  return existsSync(dir)
    ? { dir, skip: false }
    : { dir, skip: `shared test data not found at ${dir} (clone beside shared/ or set MAXPRO_TESTDATA)` };
}
