// SPDX-License-Identifier: Apache-2.0
/** The waterfall view flags of `traces get` and `replay`: --fold, --depth, --errors-only, --critical-path. */
import type { WaterfallView } from '../collector/waterfall-rows.js';
import { InvalidArgumentError } from '../lib/errors.js';

/** The waterfall flags every command that draws one takes. */
export const WATERFALL_FLAGS = {
  fold: { type: 'string' }, depth: { type: 'string' }, 'errors-only': { type: 'boolean' }, 'critical-path': { type: 'boolean' },
} as const;

/** The view the waterfall flags ask for. */
export function waterfallView(values: { fold?: string | undefined; depth?: string | undefined; 'errors-only'?: boolean | undefined; 'critical-path'?: boolean | undefined }): WaterfallView {
  const count = (flag: string, v: string, min: number): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`--${flag} '${v.slice(0, 20)}' must be an integer >= ${min}`);
    return Number(v);
  };
  return {
    ...(values.fold !== undefined ? { fold: count('fold', values.fold, 1) } : {}),
    ...(values.depth !== undefined ? { depth: count('depth', values.depth, 0) } : {}),
    ...(values['errors-only'] ? { errorsOnly: true } : {}),
    ...(values['critical-path'] ? { criticalPath: true } : {}),
  };
}

/** One line suggesting the views, for a trace too long to read whole. */
export function waterfallHint(spanCount: number, view: WaterfallView): string {
  return spanCount > 500 && Object.keys(view).length === 0 ? `(${spanCount} spans: --fold 10, --depth N, --errors-only or --critical-path shorten this)\n` : '';
}
