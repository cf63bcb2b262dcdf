// SPDX-License-Identifier: Apache-2.0
/**
 * Runs one collector as its own process: `node collector-process.js '<json CollectorOptions>'`.
 * Prints `{"url": ..., "grpcUrl": ..., "pid": ...}` as one line on stdout once listening, and
 * closes cleanly on SIGTERM/SIGINT. Benchmarks and crash tests use it.
 */
import { createCollector, type CollectorOptions } from './collector.js';

const options = JSON.parse(process.argv[2] ?? '{}') as CollectorOptions;
const collector = await createCollector(options);
process.stdout.write(`${JSON.stringify({ url: collector.url, grpcUrl: collector.grpcUrl, pid: process.pid })}\n`);
const stop = (): void => {
  collector.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
