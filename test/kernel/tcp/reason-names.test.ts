// SPDX-License-Identifier: Apache-2.0
// TCP drop and reset reason names: from tracefs's print formats where they can be read, else from
// the kernel's BTF enums (a non-root agent cannot read tracefs). Both must name every reason alike.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { kernelSkip } from '../../helpers/kernel.js';
import { kernelEnum } from '../../../src/ebpf/index.js';
import { dropReasonNames, enumReasonNames, parseReasonNames, resetReasonNames } from '../../../src/probes/tcp/kernel-reasons.js';

const skip = kernelSkip();

function format(event: string): string {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    try {
      return readFileSync(`${root}/events/${event}/format`, 'utf8');
    } catch {
      // next
    }
  }
  return '';
}

const CASES = [
  { event: 'skb/kfree_skb', enumName: 'skb_drop_reason', prefix: 'SKB_DROP_REASON_', names: dropReasonNames },
  { event: 'tcp/tcp_send_reset', enumName: 'sk_rst_reason', prefix: 'SK_RST_REASON_', names: resetReasonNames },
];

describe('kernel reason names', { skip }, () => {
  for (const c of CASES) {
    test(`${c.enumName}: the BTF enum names every reason the ${c.event} format names, the same way`, (t) => {
      const fromTracefs = parseReasonNames(format(c.event));
      const values = kernelEnum(c.enumName);
      if (!values || fromTracefs.size === 0) {
        t.skip(`this kernel has no ${c.enumName} in BTF or no ${c.event} format`);
        return;
      }
      const fromBtf = enumReasonNames(values, c.prefix);
      assert.ok(fromTracefs.size > 5);
      for (const [n, name] of fromTracefs) assert.equal(fromBtf.get(n), name, `${c.enumName} ${n}`);
      // Without tracefs (the format unreadable) the probe's lookup falls back to BTF.
      const names = c.names((e) => (e === c.enumName ? values : undefined));
      assert.equal(names.name(2), fromTracefs.get(2));
      assert.equal(c.names(() => undefined).name(1_000_000), 'reason_1000000');
    });
  }
});
