// SPDX-License-Identifier: Apache-2.0
/**
 * The OTLP/gRPC receiver: `TraceService`, `LogsService` and `MetricsService`
 * `Export` on one gRPC server (default port 4317). gRPC only carries the
 * bytes: the request is the serialized export request, decoded by the same
 * ingest path as OTLP/HTTP protobuf bodies, so both transports store the same
 * rows under the same limits.
 *
 * Order of checks per call, cheapest first and before the message is read:
 * shutting down, credentials (`authorization: Bearer …` or `x-maxpro-auth`
 * metadata), requests in flight, memory budget and commit queue; then the
 * message under a deadline and a size limit (`maxDecompressedBytes` after
 * inflating gzip: gRPC has one limit per message), then the shared ingest.
 * Load refusals answer RESOURCE_EXHAUSTED or UNAVAILABLE with a
 * `google.rpc.RetryInfo` in `grpc-status-details-bin`, where OTLP/HTTP
 * answers 429/503 with Retry-After. An OK answer is sent only after commit.
 */
import * as grpc from '@grpc/grpc-js';
import type { OtlpSignal } from '../lib/otlp/otlp-codec.js';
import type { BaggageAttributes } from './baggage-attributes.js';
import type { CollectorAuth } from './collector-auth.js';
import { BodyRefusalError, encodeRetryStatus, GrpcCode, grpcCodeOf, OverloadedError, RefusalError, UnauthenticatedError } from './collector-refusals.js';
import type { Ingest } from './ingest.js';

const SERVICES: Record<OtlpSignal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
};

/** Options of {@link createOtlpGrpcReceiver}. */
export interface OtlpGrpcReceiverOptions {
  host: string;
  port: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
  ingest: Ingest;
  auth: CollectorAuth;
  baggage: BaggageAttributes;
  /** Counts a refused call by reason. */
  count: (reason: string) => void;
  log: (line: string) => void;
  /** Time to receive the message once the call's metadata arrived, ms. */
  bodyMs: number;
  /** True once the collector is shutting down. */
  closing: () => boolean;
}

/** A listening receiver. */
export interface OtlpGrpcReceiver {
  /** Endpoint URL as OTLP gRPC exporters take it, e.g. `http://127.0.0.1:4317`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting calls and waits for running ones (at most `graceMs`, then cancels them). */
  close(graceMs?: number): Promise<void>;
}

/** Starts the receiver and resolves once it listens. */
export async function createOtlpGrpcReceiver(o: OtlpGrpcReceiverOptions): Promise<OtlpGrpcReceiver> {
  const { ingest } = o;
  // Statuses the receiver itself sends; any other non-OK status comes from
  // grpc-js (size limit, bad gzip, client deadline) and is counted here too.
  const ours = new WeakSet<grpc.Metadata>();

  const statusOf = (err: unknown): grpc.StatusObject => {
    const metadata = new grpc.Metadata();
    ours.add(metadata);
    if (err instanceof RefusalError) {
      o.count(err.reason);
      const code = grpcCodeOf(err.status);
      if (err.retryAfter !== undefined) metadata.set('grpc-status-details-bin', encodeRetryStatus(code, err.message, err.retryAfter));
      return { code, details: err.message, metadata };
    }
    o.count('internal');
    o.log(`maxpro collector: internal error on OTLP/gRPC: ${(err as Error).message}`);
    return { code: GrpcCode.INTERNAL, details: 'internal error', metadata };
  };

  const interceptor: grpc.ServerInterceptor = (_method, next) => {
    const releases: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const end = (): void => {
      ended = true;
      clearTimeout(timer);
      for (const r of releases.splice(0)) r();
    };
    const refuse = (err: unknown): void => {
      if (ended) return;
      call.sendStatus(statusOf(err));
    };
    const call: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(next, {
      start(startNext) {
        startNext({
          onReceiveMetadata(md, mdNext) {
            try {
              if (o.closing()) throw new OverloadedError(503, 'shutting_down', 'collector is shutting down', ingest.retryAfter);
              if (!o.auth.authorized(first(md, 'authorization'), first(md, 'x-maxpro-auth'))) throw new UnauthenticatedError();
              releases.push(ingest.enter());
              // What an uncompressed HTTP body reserves; a larger (inflated)
              // message reserves the rest when it arrives.
              releases.push(ingest.reserve(ingest.limits.maxBodyBytes));
            } catch (err) {
              // The message is never read: no startRead without the metadata passing on.
              refuse(err);
              return;
            }
            timer = setTimeout(() => refuse(new BodyRefusalError(408, 'body_timeout', `request message not received within ${o.bodyMs} ms`)), o.bodyMs);
            timer.unref();
            mdNext(md);
          },
          onReceiveMessage(message: Buffer, msgNext) {
            clearTimeout(timer);
            if (ended) return;
            if (message.length > ingest.limits.maxBodyBytes) {
              try {
                releases.push(ingest.reserve(message.length - ingest.limits.maxBodyBytes));
              } catch (err) {
                refuse(err);
                return;
              }
            }
            msgNext(message);
          },
          onReceiveHalfClose(hcNext) {
            if (!ended) hcNext();
          },
          onCancel() {
            if (!ended) o.count('aborted');
            end();
          },
        });
      },
    });
    // grpc-js answers some calls itself from the innermost call (message too
    // large, bad gzip, client deadline), past every interceptor; watching
    // that call's sendStatus sees those too, so each refusal is counted once.
    const sendStatus = next.sendStatus.bind(next);
    next.sendStatus = (status) => {
      if (!ended && status.code !== GrpcCode.OK && !(status.metadata && ours.has(status.metadata))) o.count(grpcJsReason(status));
      end();
      sendStatus(status);
    };
    return call;
  };

  const server = new grpc.Server({
    interceptors: [interceptor],
    // gRPC applies one limit per message, after inflating (grpc-js checks it
    // while inflating, so a gzip bomb stops there).
    'grpc.max_receive_message_length': ingest.limits.maxDecompressedBytes,
    'grpc.max_send_message_length': 1024 * 1024,
    'grpc.max_concurrent_streams': 1024,
    // Connections with no call for this long are closed (clients reconnect).
    'grpc.max_connection_idle_ms': 5 * 60_000,
  });
  for (const signal of Object.keys(SERVICES) as OtlpSignal[]) {
    const definition: grpc.ServiceDefinition = {
      Export: {
        path: `/${SERVICES[signal]}/Export`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    server.addService(definition, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const extra = o.baggage(call.metadata.get('baggage').map(String));
        ingest.process(signal, call.request, 'protobuf', extra).then(
          (out) => callback(null, Buffer.from(out.buffer, out.byteOffset, out.byteLength)),
          (err: unknown) => callback(statusOf(err) as grpc.ServiceError),
        );
      },
    });
  }

  const credentials = o.tls
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(o.tls.key), cert_chain: Buffer.from(o.tls.cert) }], false)
    : grpc.ServerCredentials.createInsecure();
  const bindHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${o.port}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  const url = `${o.tls ? 'https' : 'http'}://${bindHost}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    close(graceMs = 5000): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
        force.unref();
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
      return closed;
    },
  };
}

function first(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/** The rejection-counter label of a status grpc-js sent on its own. */
function grpcJsReason(status: { code?: number; details?: string }): string {
  const details = status.details ?? '';
  switch (status.code) {
    case GrpcCode.RESOURCE_EXHAUSTED: return /decompresses/.test(details) ? 'decompressed_too_large' : 'body_too_large';
    case GrpcCode.INTERNAL: return /decompress/i.test(details) ? 'bad_gzip' : 'internal';
    case GrpcCode.DEADLINE_EXCEEDED: return 'deadline_exceeded';
    case GrpcCode.UNIMPLEMENTED: return 'not_found';
    case GrpcCode.CANCELLED: return 'aborted';
    default: return `grpc_status_${status.code ?? 'unknown'}`;
  }
}
