// SPDX-License-Identifier: Apache-2.0
/**
 * The TCP probe of `trace tcp` and `top tcp` when no agent serves them:
 * loaded in this process, with workload identities (pod names from
 * `--kubeconfig` or the in-cluster account).
 */
import type { CommandIO } from '../../../cli/command.js';
import { createCgroupIdentity } from '../../../enrich/cgroup-identity.js';
import type { CgroupIdentity } from '../../../enrich/cgroup-identity.js';
import { createTcpProbe } from '../tcp-probe.js';
import type { TcpProbe, TcpProbeOptions } from '../tcp-probe.js';

export interface LocalTcp {
  probe: TcpProbe;
  identity: CgroupIdentity;
  /** Closes the probe, then the identities. */
  close(): Promise<void>;
}

/** May throw what createTcpProbe throws (nothing is left open then). */
export async function openLocalTcp(io: CommandIO, kubeconfig: string | undefined,
  probeOptions: (identity: CgroupIdentity) => TcpProbeOptions): Promise<LocalTcp> {
  const identity = await createCgroupIdentity({
    kubernetes: kubeconfig ? { kubeconfig } : {},
    onNotice: (m) => io.err.write(`maxpro: ${m}\n`),
  });
  let probe: TcpProbe;
  try {
    probe = createTcpProbe(probeOptions(identity));
  } catch (err) {
    await identity.close();
    throw err;
  }
  return {
    probe, identity,
    async close() {
      await probe.close();
      await identity.close();
    },
  };
}
