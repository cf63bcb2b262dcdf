// SPDX-License-Identifier: Apache-2.0
/**
 * The Prometheus remote-write 1.0 messages (prometheus.WriteRequest and its
 * parts), defined from the specification with protobufjs reflection:
 * WriteRequest{1: repeated TimeSeries}, TimeSeries{1: repeated Label,
 * 2: repeated Sample}, Label{1: name, 2: value}, Sample{1: double value,
 * 2: int64 timestamp (ms)}.
 */
import protobuf from 'protobufjs';

export interface RemoteWriteLabel { name: string; value: string }
export interface RemoteWriteSample { value: number; timestamp: number }
export interface RemoteWriteSeries { labels: RemoteWriteLabel[]; samples: RemoteWriteSample[] }

const root = new protobuf.Root();
const ns = root.define('prometheus');
ns.add(new protobuf.Type('Label').add(new protobuf.Field('name', 1, 'string')).add(new protobuf.Field('value', 2, 'string')));
ns.add(new protobuf.Type('Sample').add(new protobuf.Field('value', 1, 'double')).add(new protobuf.Field('timestamp', 2, 'int64')));
ns.add(new protobuf.Type('TimeSeries')
  .add(new protobuf.Field('labels', 1, 'Label', 'repeated'))
  .add(new protobuf.Field('samples', 2, 'Sample', 'repeated')));
ns.add(new protobuf.Type('WriteRequest').add(new protobuf.Field('timeseries', 1, 'TimeSeries', 'repeated')));
root.resolveAll();

const WriteRequest = root.lookupType('prometheus.WriteRequest');

/** Encodes a WriteRequest (uncompressed protobuf). */
export function encodeWriteRequest(series: readonly RemoteWriteSeries[]): Uint8Array {
  return WriteRequest.encode(WriteRequest.fromObject({ timeseries: series })).finish();
}

/** Decodes a WriteRequest (tests, receivers). */
export function decodeWriteRequest(bytes: Uint8Array): RemoteWriteSeries[] {
  const msg = WriteRequest.toObject(WriteRequest.decode(bytes), { longs: Number, defaults: true }) as { timeseries: RemoteWriteSeries[] };
  return msg.timeseries;
}
