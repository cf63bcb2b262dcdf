// SPDX-License-Identifier: Apache-2.0
// Decoding TCP probe records from golden bytes, the policy encoding and the port classes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TCP_CONN_EVENT, decodeTcpConnEvent, decodeTcpEvent, decodeTcpSignalEvent, formatAddress,
} from '../../../src/probes/tcp/tcp-event.js';
import { encodeTcpPolicy } from '../../../src/probes/tcp/tcp-probe.js';
import { buildPortClassTable } from '../../../src/probes/tcp/port-classes.js';
import { parseReasonNames } from '../../../src/probes/tcp/kernel-reasons.js';

function connRecord(kind: number): { view: DataView; bytes: Uint8Array } {
  const bytes = new Uint8Array(TCP_CONN_EVENT.size);
  const v = new DataView(bytes.buffer);
  v.setUint8(0, kind);
  v.setUint8(1, 1);
  v.setUint32(4, bytes.length, true);
  v.setBigUint64(8, 123n, true);
  v.setBigUint64(16, 4242n, true); // cgroup
  v.setBigUint64(24, 1_500_000n, true); // handshake
  v.setBigUint64(32, 9_000_000n, true); // lifetime
  v.setBigUint64(40, 100n, true);
  v.setBigUint64(48, 200n, true);
  v.setUint32(56, 77, true);
  v.setUint32(60, 78, true);
  v.setUint32(72, 35, true); // srtt
  v.setUint32(80, 2, true); // retrans
  v.setInt32(84, -104, true);
  v.setUint16(92, 443, true);
  v.setUint16(94, 50000, true);
  v.setUint16(96, 10, true); // AF_INET6
  v.setUint8(98, 1);
  v.setUint8(99, 1);
  bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 100);
  bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 116);
  bytes.set(new TextEncoder().encode('curl'), 132);
  return { view: v, bytes };
}

describe('tcp records', () => {
  test('decodes a close record', () => {
    const { view, bytes } = connRecord(34);
    const e = decodeTcpConnEvent(view, 0, bytes)!;
    assert.equal(e.type, 'close');
    assert.equal(e.cgroupId, 4242n);
    assert.equal(e.handshakeNs, 1_500_000);
    assert.equal(e.lifetimeNs, 9_000_000);
    assert.equal(e.tgid, 77);
    assert.equal(e.srttUs, 35);
    assert.equal(e.totalRetrans, 2);
    assert.equal(e.err, -104);
    assert.equal(e.family, 6);
    assert.equal(e.saddr, '2001:db8::1');
    assert.equal(e.daddr, '::1');
    assert.equal(e.sport, 443);
    assert.equal(e.dir, 'server');
    assert.equal(e.oldState, 'ESTABLISHED');
    assert.equal(e.comm, 'curl');
    assert.equal(decodeTcpSignalEvent(view, 0, bytes), undefined);
    assert.equal(decodeTcpEvent(view, 0, bytes)?.type, 'close');
  });

  test('unknown kinds decode to undefined', () => {
    const { view, bytes } = connRecord(31);
    assert.equal(decodeTcpEvent(view, 0, bytes), undefined);
  });

  test('formats addresses', () => {
    const b = new Uint8Array(16);
    b.set([127, 0, 0, 1]);
    assert.equal(formatAddress(b, 0, 2), '127.0.0.1');
    b.fill(0).set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
    assert.equal(formatAddress(b, 0, 10), '::ffff:10.0.0.1');
    b.fill(0).set([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
    assert.equal(formatAddress(b, 0, 10), 'fe80::1:0:0:2');
    assert.equal(formatAddress(b, 0, 0), '');
  });

  test('encodes the policy and validates it', () => {
    const b = encodeTcpPolicy({ minHandshakeMs: 100, stream: true });
    const v = new DataView(b.buffer);
    assert.equal(v.getBigUint64(0, true), 100_000_000n);
    assert.equal(v.getUint32(24, true), 1 | 2, 'stream + failed connects (default on)');
    assert.equal(new DataView(encodeTcpPolicy({ failedConnects: false, retransmits: true }).buffer).getUint32(24, true), 4);
    assert.throws(() => encodeTcpPolicy({ minSrttMs: NaN }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });

  test('port classes: single ports win over ranges, bad input is refused', () => {
    const t = buildPortClassTable([{ name: 'https', ports: [443] }, { name: 'system', ports: [[1, 1023]] }]);
    assert.deepEqual(t.names, ['other', 'https', 'system']);
    assert.equal(t.table[443], 1);
    assert.equal(t.table[22], 2);
    assert.equal(t.table[8080], 0);
    assert.throws(() => buildPortClassTable([{ name: 'x y', ports: [1] }]), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => buildPortClassTable([{ name: 'x', ports: [[10, 5]] }]), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });

  test('default port classes: 4317 is OTLP/gRPC, 4318 OTLP/HTTP', () => {
    const t = buildPortClassTable();
    assert.equal(t.names[t.table[4317]!], 'grpc-otlp');
    assert.equal(t.names[t.table[4318]!], 'http-otlp');
    assert.equal(t.names[t.table[443]!], 'https');
  });

  test('parses reason names from a tracepoint print format', () => {
    const fmt = 'print fmt: "reason: %s", __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 40, "TCP_LISTEN_OVERFLOW" })';
    const names = parseReasonNames(fmt);
    assert.equal(names.get(40), 'tcp_listen_overflow');
    assert.equal(names.size, 3);
    assert.equal(parseReasonNames('no symbols').size, 0);
  });
});
