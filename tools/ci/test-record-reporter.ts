// SPDX-License-Identifier: Apache-2.0
/**
 * A node:test reporter that writes one NDJSON record per finished test or
 * suite (file, path of names, status, duration, end time) and one summary,
 * for the CI's own telemetry (tools/ci/ci-telemetry.ts). It runs next to the
 * usual console reporter (scripts/run-tests.mjs adds both), so the log is
 * unchanged.
 */
import { relative } from 'node:path';

export interface TestRecord {
  kind: 'test';
  /** The test source, relative to the repository (test/unit/x.test.ts), or the dist file when unmapped. */
  file: string;
  /** Enclosing suite names, then the test's own name. */
  path: string[];
  type: 'test' | 'suite';
  status: 'pass' | 'fail' | 'skip' | 'todo' | 'cancelled';
  durationMs: number;
  /** Wall-clock time the result arrived (ms since the epoch): the span's end. */
  endMs: number;
  /** First line of the failure, cut to 200 characters. */
  error?: string;
}

export interface SummaryRecord {
  kind: 'summary';
  counts: Record<string, number>;
  durationMs: number;
}

interface TestEventData {
  name: string;
  nesting: number;
  file?: string;
  skip?: string | boolean;
  todo?: string | boolean;
  message?: string;
  details?: { duration_ms?: number; type?: 'test' | 'suite'; error?: { message?: string; failureType?: string; cause?: unknown } };
}

const ROOT = new URL('../../../', import.meta.url).pathname;

/** dist/test/unit/a.test.js -> test/unit/a.test.ts (the file a reader opens). */
export function sourceFile(file: string | undefined, root = ROOT): string {
  if (!file) return '(no file)';
  const rel = relative(root, file);
  const m = /^dist\/(.+)\.js$/.exec(rel);
  return m ? `${m[1]}.ts` : rel;
}

type TestError = NonNullable<NonNullable<TestEventData['details']>['error']>;

function firstLine(err: TestError | undefined): string | undefined {
  const cause = err?.cause instanceof Error ? err.cause.message : undefined;
  const text = cause ?? err?.message;
  if (!text) return undefined;
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** Turns node:test events into records; `now` is injectable for tests. */
export function createTestRecorder(now: () => number = Date.now): (type: string, data: TestEventData) => TestRecord | SummaryRecord | undefined {
  // Names of the tests started and not yet finished, per file (files run one at a time, events in order).
  const stacks = new Map<string, string[]>();
  const counts: Record<string, number> = {};
  return (type, data) => {
    const file = sourceFile(data.file);
    const stack = stacks.get(file) ?? [];
    stacks.set(file, stack);
    if (type === 'test:start') {
      stack.length = data.nesting;
      stack.push(data.name);
      return undefined;
    }
    if (type === 'test:diagnostic' && data.nesting === 0 && data.message) {
      const m = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/.exec(data.message);
      if (!m) return undefined;
      if (m[1] !== 'duration_ms') {
        counts[m[1]!] = Number(m[2]);
        return undefined;
      }
      return { kind: 'summary', counts: { ...counts }, durationMs: Number(m[2]) };
    }
    if (type !== 'test:pass' && type !== 'test:fail') return undefined;
    const path = [...stack.slice(0, data.nesting), data.name];
    stack.length = data.nesting;
    const status: TestRecord['status'] = data.skip !== undefined && data.skip !== false ? 'skip'
      : data.todo !== undefined && data.todo !== false ? 'todo'
        : type === 'test:pass' ? 'pass'
          : data.details?.error?.failureType === 'cancelledByParent' ? 'cancelled' : 'fail';
    const error = status === 'fail' ? firstLine(data.details?.error) : undefined;
    return {
      kind: 'test', file, path, type: data.details?.type === 'suite' ? 'suite' : 'test', status,
      durationMs: Math.round((data.details?.duration_ms ?? 0) * 1000) / 1000, endMs: now(),
      ...(error ? { error } : {}),
    };
  };
}

/** The reporter: node --test --test-reporter=<this file> --test-reporter-destination=<file.ndjson>. */
export default async function* testRecordReporter(source: AsyncIterable<{ type: string; data: TestEventData }>): AsyncGenerator<string> {
  const record = createTestRecorder();
  for await (const event of source) {
    const r = record(event.type, event.data);
    if (r) yield `${JSON.stringify(r)}\n`;
  }
}
