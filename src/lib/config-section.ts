// SPDX-License-Identifier: Apache-2.0
/** The one way a config section gets its defaults (the agent's schema and every probe's fragment). */
import type { z } from 'zod';

/**
 * A config section whose absent value is what parsing `{}` gives: the
 * field defaults are the only place defaults are written.
 */
export function configSection<S extends z.ZodObject>(schema: S) {
  return schema.default(() => schema.parse({}) as z.util.NoUndefined<z.output<S>>);
}
