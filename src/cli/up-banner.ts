// SPDX-License-Identifier: Apache-2.0
/**
 * The block `maxpro up` prints once both parts listen: where each endpoint
 * is, and what an application needs to send its telemetry (the OTLP
 * endpoints and the header, as OpenTelemetry SDK variables). Tokens are
 * never printed, only the files that hold them.
 */

export interface UpBannerInput {
  agentUrl: string;
  /** The agent's token file; undefined when its authentication is off. */
  agentTokenFile?: string;
  pprof: boolean;
  collector?: { url: string; grpcUrl?: string; tokenFile: string };
  probes: readonly string[];
  /** Whether the user reading this is root (`sudo` is left out of the hints). */
  root: boolean;
}

/** The lines, each ending in a newline. */
export function formatUpBanner(b: UpBannerInput): string {
  const a = b.agentUrl;
  const read = (file: string): string => `${b.root ? '' : 'sudo '}cat ${file}`;
  const lines = [
    'maxpro up',
    `  metrics   ${a}/metrics`,
    `  stream    ${a}/stream   (NDJSON live events; maxpro trace attaches to it)`,
    `  health    ${a}/healthz  ${a}/readyz`,
  ];
  if (b.pprof) lines.push(`  pprof     ${a}/debug/pprof/profile?seconds=10  ${a}/debug/pprof/heap`);
  if (b.agentTokenFile) lines.push(`  agent key ${b.agentTokenFile}  (Authorization: Bearer <it> for /stream and /tcp/aggregates; the CLI reads it)`);
  const c = b.collector;
  if (c) {
    lines.push(`  collector ${c.url}  (OTLP/HTTP /v1/logs, /v1/metrics, /v1/traces; query API ${c.url}/api/)`);
    if (c.grpcUrl) lines.push(`  otlp-grpc ${c.grpcUrl}  (OTLP/gRPC traces, logs, metrics)`);
    lines.push(`  otlp key  ${c.tokenFile}  (Authorization: Bearer <it>; maxpro services and traces read it)`);
    lines.push(`  app env   OTEL_EXPORTER_OTLP_ENDPOINT=${c.url} OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer $(${read(c.tokenFile)})"`);
  }
  lines.push(`  probes    ${b.probes.join(', ') || 'none loaded (see /readyz)'}`);
  return `${lines.join('\n')}\n`;
}
