// SPDX-License-Identifier: Apache-2.0
/** `maxpro policy explain`: where each policy rule runs, kernel or user space. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { formatPlan, planPushDown } from '../../agent/policy/policy-planner.js';
import { ConfigError, InvalidArgumentError } from '../../lib/errors.js';

export const policyExplainCommand: Command = {
  name: 'policy explain',
  summary: 'show where each policy rule runs (kernel or user space)',
  help: `USAGE: maxpro policy explain --config FILE [--json]

Reads the policies of an agent configuration and prints, for each rule, which
parts run in the kernel (thresholds pushed into the probe's maps) and which
in user space (label selectors, other predicates, rate limits), and the
resulting kernel settings.

EXAMPLES:
  maxpro policy explain --config /etc/maxpro/agent.yaml
  maxpro policy explain -c agent.yaml --json | jq .tcp
`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } } });
    if (!values.config) throw new InvalidArgumentError('policy explain needs --config FILE');
    try {
      const { loadConfigFile } = await import('../../agent/config/load-config.js');
      const { config } = loadConfigFile(values.config);
      const plan = planPushDown(config.policy);
      io.out.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(config.policy, plan));
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        io.err.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
