// SPDX-License-Identifier: Apache-2.0
/** `maxpro policy explain`: where each policy rule runs, kernel or user space. */
import { parseArgs } from 'node:util';
import type { Command } from '../command.js';
import { formatPlan, planPushDown } from '../../agent/policy/policy-planner.js';
import type { PushDownCapabilities } from '../../agent/policy/policy-planner.js';
import { analyzeCgroupFilter, resolveCgroupFilter } from '../../agent/policy/cgroup-filter-plan.js';
import type { CgroupFilterResolution } from '../../agent/policy/cgroup-filter-plan.js';
import { compileRule } from '../../agent/policy/policy-engine.js';
import { POLICY_PROBES } from '../../agent/policy/policy-keys.js';
import { pathSubject } from '../../agent/workload-labeler.js';
import type { PodLookup } from '../../agent/workload-labeler.js';
import type { AgentConfig } from '../../agent/config/agent-config.js';
import { findCgroup2Mount, walkCgroups } from '../../enrich/cgroup-resolver.js';
import { createK8sMetadata, kubernetesConfigured } from '../../enrich/k8s-metadata.js';
import type { K8sMetadata } from '../../enrich/k8s-metadata.js';
import { CGROUP_FILTER_MAX_IDS, probeBuiltWithCgroupFilter } from '../../probes/cgroup-filter.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { reportConfigErrors } from '../config-errors.js';

const MAX_CGROUPS = 65536;
const POD_LIST_TIMEOUT_MS = 5000;

/** Fills the cgroup lists from this machine's cgroup tree, as the agent would. */
function resolveHere(config: AgentConfig, caps: PushDownCapabilities, pods?: PodLookup): CgroupFilterResolution[] {
  const root = findCgroup2Mount();
  if (!root) return [];
  const compiled = config.policy.rules.map((r) => compileRule(r));
  const analyses = POLICY_PROBES.map((p) => analyzeCgroupFilter(config.policy, compiled, p, caps.cgroupFilter[p] ?? false));
  if (analyses.every((a) => a.mode === 'off')) return [];
  const { cgroups, overflow } = walkCgroups(root, MAX_CGROUPS);
  const subjects = new Map([...cgroups].map(([id, path]) => [id, pathSubject(path, config.workloads, pods)]));
  return analyses.map((a) => resolveCgroupFilter(a, subjects, CGROUP_FILTER_MAX_IDS, overflow === 0));
}

/** This node's pods, listed once, when the configuration's cluster is configured; undefined (noticed) otherwise. */
async function podMetadata(config: AgentConfig, notice: (m: string) => void): Promise<K8sMetadata | undefined> {
  const kc = config.kubernetes;
  if (!kc.enabled || !kubernetesConfigured(kc.kubeconfig)) return undefined;
  const k8s = createK8sMetadata({
    ...(kc.kubeconfig ? { kubeconfig: kc.kubeconfig } : {}), ...(config.agent.nodeName ? { nodeName: config.agent.nodeName } : {}),
    maxPods: kc.maxPods, onNotice: notice,
  });
  let timer: NodeJS.Timeout | undefined;
  const listed = await Promise.race([
    k8s.start(),
    new Promise<false>((r) => { timer = setTimeout(() => r(false), POD_LIST_TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(timer));
  if (listed && k8s.stats().state === 'watching') return k8s;
  if (!listed) notice(`kubernetes: no pod list within ${POD_LIST_TIMEOUT_MS} ms: cgroup lists without pod labels`);
  await k8s.close();
  return undefined;
}

export const policyExplainCommand: Command = {
  name: 'policy explain',
  help: `USAGE: maxpro policy explain --config FILE [--json] [--no-resolve]

Reads the policies of an agent configuration and prints, for each rule, which
parts run in the kernel (thresholds pushed into the probe's maps, label
selectors turned into a probe's cgroup allow or deny list) and which in user
space (other selectors, predicates, rate limits), and the resulting kernel
settings. Cgroup lists are filled from this machine's cgroup tree, as the
agent would fill them (with the labels of this node's pods when the
configuration's cluster is reachable); --no-resolve skips that.

EXAMPLES:
  maxpro policy explain --config /etc/maxpro/agent.yaml
  maxpro policy explain -c agent.yaml --json | jq .tcp
`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'no-resolve': { type: 'boolean' } } });
    const file = values.config;
    if (!file) throw new InvalidArgumentError('policy explain needs --config FILE');
    return reportConfigErrors(io, async () => {
      const { loadConfigFile } = await import('../../agent/config/load-config.js');
      const { config } = loadConfigFile(file);
      const caps: PushDownCapabilities = { cgroupFilter: Object.fromEntries(POLICY_PROBES.map((p) => [p, probeBuiltWithCgroupFilter(p)])) };
      let resolved: CgroupFilterResolution[] = [];
      if (!values['no-resolve']) {
        const k8s = await podMetadata(config, (m) => io.err.write(`${m}\n`));
        try {
          resolved = resolveHere(config, caps, k8s ? (uid) => k8s.lookup(uid) : undefined);
        } finally {
          await k8s?.close();
        }
      }
      const plan = planPushDown(config.policy, caps, resolved);
      io.out.write(values.json ? `${JSON.stringify({ ...plan, cgroupLists: resolved.map(({ ids, ...r }) => ({ ...r, count: ids.length })) }, null, 2)}\n` : formatPlan(config.policy, plan, resolved));
      return 0;
    });
  },
};
