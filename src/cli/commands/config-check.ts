// SPDX-License-Identifier: Apache-2.0
/** `maxpro config check FILE` and `maxpro config schema`. */
import type { Command } from '../command.js';
import { kernelSettings, planPushDown } from '../../agent/policy/policy-planner.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { PROBE_NAMES } from '../../probes/registry.js';
import type { ProbeName } from '../../probes/registry.js';
import { reportConfigErrors } from '../config-errors.js';

export const configCheckCommand: Command = {
  name: 'config check',
  help: `USAGE: maxpro config check FILE

Parses and validates FILE against the agent's schema (docs/config.schema.json).
Prints every problem as FILE:LINE: PATH: REASON and exits 1, or prints a
summary and exits 0.

EXAMPLES:
  maxpro config check /etc/maxpro/agent.yaml
`,
  async run(argv, io) {
    const file = argv[0];
    if (!file || argv.length > 1) throw new InvalidArgumentError('usage: maxpro config check FILE');
    return reportConfigErrors(io, async () => {
      const { loadConfigFile } = await import('../../agent/config/load-config.js');
      const { config } = loadConfigFile(file);
      const plan = planPushDown(config.policy);
      const probes = PROBE_NAMES.filter((p) => config.probes[p].enabled);
      // The forms only: which cgroups fill the lists is decided on the node (maxpro policy explain).
      const { analyzeCgroupFilter } = await import('../../agent/policy/cgroup-filter-plan.js');
      const { compileRule } = await import('../../agent/policy/policy-engine.js');
      const compiled = config.policy.rules.map((r) => compileRule(r));
      const lists = probes.map((p) => `${p} cgroup ${analyzeCgroupFilter(config.policy, compiled, p).mode}`);
      io.out.write(`${file}: ok (probes: ${probes.join(', ') || 'none'}; ${config.policy.rules.length} policy rule(s), default ${config.policy.default}; `
        + `kernel push-down: ${[...kernelSettings(plan).filter((k) => probes.includes(k.probe as ProbeName)).map((k) => `${k.probe} ${k.push.streams(k.settings) ? 'streams every record' : 'thresholds in the kernel'}`), ...lists].join(', ')})\n`);
      return 0;
    });
  },
};

export const configSchemaCommand: Command = {
  name: 'config schema',
  help: 'USAGE: maxpro config schema\n\nPrints the JSON Schema that docs/config.schema.json holds.\n\nEXAMPLES:\n  maxpro config schema > agent.schema.json\n',
  async run(_argv, io) {
    const { agentConfigJsonSchema } = await import('../../agent/config/agent-config.js');
    io.out.write(`${JSON.stringify(agentConfigJsonSchema(), null, 2)}\n`);
    return 0;
  },
};
