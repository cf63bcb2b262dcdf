// SPDX-License-Identifier: Apache-2.0
// The ebpf-probe Helm chart with the real helm (built by scripts/build-k8s-tools.sh): `helm lint
// --strict` of the default values and the ci/ value sets, the values schema, the privileges each
// value set renders, and the agent config in the ConfigMap checked by the agent's own parser.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { k8sToolsSkip } from '../../helpers/k8s-tools.js';
import { parseConfigText } from '../../../src/agent/config/load-config.js';
import { CHART, NS, QUICK_START, VALUE_SETS, helm, render } from './chart-fixture.js';
import type { K8sObject } from './chart-fixture.js';

describe('helm chart ebpf-probe: lint', { skip: k8sToolsSkip('helm') }, () => {
  for (const v of VALUE_SETS) {
    test(`helm lint --strict: ${v.name} values`, () => {
      const r = helm('lint', '--strict', CHART, ...v.args);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
  test('values.schema.json refuses an unknown key and a wrongly typed value', () => {
    const unknown = helm('lint', '--strict', CHART, '--set', 'probe.enableTcpLatency=true');
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stdout + unknown.stderr, /enableTcpLatency/);
    const typed = helm('lint', CHART, '--set', 'agent.port=http');
    assert.notEqual(typed.status, 0);
    assert.match(typed.stdout + typed.stderr, /port/);
  });
  test('privileges follow the probes: BPF and PERFMON always; hostPID and SYS_PTRACE only with exec probing', () => {
    const caps = (objs: K8sObject[]): { add: string[]; drop: string[]; hostPID: boolean } => {
      const ds = objs.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: { hostPID?: boolean; containers: { securityContext: { capabilities: { add: string[]; drop: string[] } } }[] } } } };
      const pod = ds.spec.template.spec;
      return { ...pod.containers[0]!.securityContext.capabilities, hostPID: pod.hostPID === true };
    };
    assert.deepEqual(caps(render(QUICK_START)), { drop: ['ALL'], add: ['BPF', 'PERFMON', 'SYS_PTRACE'], hostPID: true });
    assert.deepEqual(caps(render(VALUE_SETS[1]!.args)), { drop: ['ALL'], add: ['BPF', 'PERFMON'], hostPID: false });
  });
  test('probe.tcp.podLabels reaches the agent config; a key that is no label key is refused by the schema', () => {
    const cm = render(['--set', 'probe.tcp.podLabels={app,app.kubernetes.io/name}']).find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    assert.deepEqual(parseConfigText(cm.data['agent.yaml']!, 'agent.yaml').config.probes.tcp.metrics.podLabels, ['app', 'app.kubernetes.io/name']);
    const bad = helm('lint', '--strict', CHART, '--set', 'probe.tcp.podLabels={not a key}');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout + bad.stderr, /podLabels/);
  });
  test('object verification: on by default with the image\'s keys; a Secret adds keys; never set from the ConfigMap', () => {
    type Pod = { containers: { env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }[]; volumes: { name: string; secret?: { secretName: string } }[] };
    const pod = (objs: K8sObject[]): Pod => (objs.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const env = (p: Pod): Record<string, string | undefined> => Object.fromEntries(p.containers[0]!.env.map((e) => [e.name, e.value]));
    const byDefault = render(QUICK_START);
    assert.ok(!Object.keys(env(pod(byDefault))).some((k) => k.startsWith('MAXPRO_BPF_') || k === 'MAXPRO_TRUSTED_KEYS'), 'the image\'s defaults: verification on, its own keys');
    const cm = byDefault.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    assert.doesNotMatch(cm.data['agent.yaml']!, /verif|trusted/i, 'nothing about trust is in the user-editable ConfigMap');
    const p = pod(render(['--set', 'probe.objectVerification.trustedKeysSecret=release-keys', '--set', 'probe.objectVerification.minVersion=0.2.0']));
    assert.equal(env(p)['MAXPRO_TRUSTED_KEYS'], '/usr/share/maxpro/trusted-keys:/var/run/maxpro/trusted-keys');
    assert.equal(env(p)['MAXPRO_BPF_MIN_VERSION'], '0.2.0');
    assert.equal(env(p)['MAXPRO_BPF_VERIFY'], undefined);
    assert.deepEqual(p.volumes.find((v) => v.name === 'trusted-keys')?.secret, { secretName: 'release-keys', defaultMode: 0o444 });
    assert.deepEqual(p.containers[0]!.volumeMounts.find((m) => m.name === 'trusted-keys'), { name: 'trusted-keys', mountPath: '/var/run/maxpro/trusted-keys', readOnly: true });
    assert.equal(env(pod(render(['--set', 'probe.objectVerification.enabled=false'])))['MAXPRO_BPF_VERIFY'], 'off');
    const bad = helm('lint', '--strict', CHART, '--set', 'probe.objectVerification.minVersion=latest');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout + bad.stderr, /minVersion/);
  });
  test('the rendered agent config passes the agent\'s parser and carries the probe switches', () => {
    for (const v of VALUE_SETS) {
      const cm = render(v.args).find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
      const { config } = parseConfigText(cm.data['agent.yaml']!, `${v.name}/agent.yaml`);
      assert.equal(config.agent.pinDir, '/sys/fs/bpf/maxpro');
      assert.equal(config.probes.tcp.enabled, true, v.name);
      assert.equal(config.probes.process.enabled, v.name !== 'tcp-only', v.name);
      if (v.name === 'collector') {
        assert.equal(config.exporters.otlp.enabled, true);
        assert.equal(config.exporters.otlp.endpoint, `http://maxpro-ebpf-ebpf-probe-collector.${NS}.svc:4318`);
      }
    }
  });
});

