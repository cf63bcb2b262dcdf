// SPDX-License-Identifier: Apache-2.0
/**
 * A raw OTLP/gRPC client for tests: sends arbitrary bytes (valid, truncated,
 * oversize) as the Export request, which the SDK exporters cannot do, and
 * returns the status with its trailers.
 */
import * as grpc from '@grpc/grpc-js';
import type { OtlpSignal } from '../../../src/lib/otlp/otlp-codec.js';

export const GRPC_PATHS: Record<OtlpSignal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
};

export interface GrpcResult {
  code: number;
  details: string;
  /** Trailers on failure. */
  metadata: grpc.Metadata | undefined;
  /** The serialized export response on OK. */
  response: Buffer | undefined;
}

export interface RawGrpcClient {
  send(signal: OtlpSignal, body: Uint8Array, headers?: Record<string, string>, deadlineMs?: number): Promise<GrpcResult>;
  /** Resolves once the channel is connected. */
  ready(timeoutMs?: number): Promise<void>;
  close(): void;
}

/** `url` as the collector reports it (`http://host:port`); `gzip` compresses every message. */
export function createRawGrpcClient(url: string, options: { gzip?: boolean } = {}): RawGrpcClient {
  const target = url.replace(/^https?:\/\//, '');
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    ...(options.gzip ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {}),
  });
  return {
    send(signal, body, headers = {}, deadlineMs = 30_000) {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      return new Promise((resolve) => {
        client.makeUnaryRequest(GRPC_PATHS[signal], (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body), md, { deadline: Date.now() + deadlineMs },
          (err: grpc.ServiceError | null, value?: Buffer) => {
            if (err) resolve({ code: err.code, details: err.details, metadata: err.metadata, response: undefined });
            else resolve({ code: 0, details: '', metadata: undefined, response: value });
          });
      });
    },
    ready: (timeoutMs = 10_000) => new Promise((resolve, reject) => {
      client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    }),
    close: () => client.close(),
  };
}
