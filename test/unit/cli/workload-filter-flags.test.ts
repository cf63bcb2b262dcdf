// SPDX-License-Identifier: Apache-2.0
// The shared flags of trace exec, trace tcp and top tcp: parseArgs specs, validation, help lines, and
// the choice of event source (--agent, --local, MAXPRO_AGENT_URL).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import {
  EVENT_SOURCE_HELP, EVENT_SOURCE_OPTIONS, WORKLOAD_FILTER_OPTIONS, helpLine, parseEventSource, parseWorkloadFilters, workloadFilterHelp, workloadFilterOptions,
} from '../../../src/cli/workload-filter-flags.js';
import { traceExecCommand } from '../../../src/probes/process/cli/trace-exec.js';
import { traceTcpCommand } from '../../../src/probes/tcp/cli/trace-tcp.js';
import { topTcpCommand, matchesTopFilters } from '../../../src/probes/tcp/cli/top-tcp.js';
import type { TopTcpRow } from '../../../src/probes/tcp/cli/top-tcp.js';

const parse = (args: string[]) => parseArgs({ args, strict: true, options: { ...WORKLOAD_FILTER_OPTIONS, ...EVENT_SOURCE_OPTIONS } }).values;

describe('workload filter flags', () => {
  test('parse and validate', () => {
    assert.deepEqual(parseWorkloadFilters(parse(['--comm', 'curl', '--pid', '42', '--container', 'abc', '--pod', 'web-1', '--namespace', 'prod', '--failed'])),
      { comm: 'curl', pid: 42, container: 'abc', pod: 'web-1', namespace: 'prod', failed: true });
    assert.deepEqual(parseWorkloadFilters(parse([])), { failed: false });
    for (const bad of [['--pid', 'x'], ['--pid=-1'], ['--pid', '1.5'], ['--pid', ''], ['--comm', ''], ['--namespace', '']]) {
      assert.throws(() => parseWorkloadFilters(parse(bad)), (err: Error & { code?: string }) => err.code === 'MAXPRO_ERR_INVALID_ARGUMENT' && err.message.includes(bad[0]!.split('=')[0]!), bad.join(' '));
    }
    assert.throws(() => parse(['--colour', 'red']), /Unknown option/);
  });

  test('a subset of the filters for commands that cannot apply the others', () => {
    assert.deepEqual(Object.keys(workloadFilterOptions(['container', 'namespace'])), ['container', 'namespace']);
    const row: TopTcpRow = { workload: 'prod/web-1', container: 'abcdef', pod: 'web-1', namespace: 'prod', conns_per_sec: 1, accepts_per_sec: 0, conns: 1, accepts: 0, connect_p99_ms: 0, failed: 0, retransmits: 0, drops: 0 };
    assert.ok(matchesTopFilters(row, { failed: false, container: 'abc', pod: 'web-1', namespace: 'prod' }));
    assert.ok(!matchesTopFilters(row, { failed: false, namespace: 'dev' }));
    assert.ok(!matchesTopFilters(row, { failed: false, container: 'fff' }));
  });

  test('help lines are aligned with the commands\' own and every command lists its flags', () => {
    assert.equal(helpLine('--comm NAME', 'x'), '  --comm NAME          x');
    assert.equal(helpLine('--a-very-long-flag VALUE', 'x'), '  --a-very-long-flag VALUE x');
    const h = workloadFilterHelp('execs', ['comm', 'failed'], { comm: 'only execs named NAME' });
    assert.equal(h, '  --comm NAME          only execs named NAME\n  --failed             only failed execs');
    for (const cmd of [traceExecCommand, traceTcpCommand]) {
      for (const flag of [...Object.keys(WORKLOAD_FILTER_OPTIONS), ...Object.keys(EVENT_SOURCE_OPTIONS)]) assert.match(cmd.help, new RegExp(`^  --${flag}\\b`, 'm'), `${cmd.name} --${flag}`);
      assert.ok(cmd.help.includes(EVENT_SOURCE_HELP));
    }
    for (const flag of ['container', 'pod', 'namespace', ...Object.keys(EVENT_SOURCE_OPTIONS)]) assert.match(topTcpCommand.help, new RegExp(`^  --${flag}\\b`, 'm'));
    assert.ok(topTcpCommand.help.includes(EVENT_SOURCE_HELP), 'top tcp chooses its source as trace does');
    assert.doesNotMatch(topTcpCommand.help, /--comm|--pid|--failed/);
  });
});

describe('event source flags', () => {
  test('--agent is explicit, the environment and the default are not', () => {
    assert.deepEqual(parseEventSource(parse(['--agent', 'http://10.0.0.7:9464/']), {}), { local: false, url: 'http://10.0.0.7:9464', explicit: true });
    assert.deepEqual(parseEventSource(parse([]), { MAXPRO_AGENT_URL: 'http://node:1234' }), { local: false, url: 'http://node:1234', explicit: false });
    assert.deepEqual(parseEventSource(parse([]), {}), { local: false, url: 'http://127.0.0.1:9464', explicit: false });
    assert.deepEqual(parseEventSource(parse([]), { MAXPRO_AGENT_URL: '' }), { local: false, url: 'http://127.0.0.1:9464', explicit: false });
    assert.deepEqual(parseEventSource(parse(['--local']), { MAXPRO_AGENT_URL: 'http://node:1234' }), { local: true });
  });

  test('bad combinations and URLs are refused, naming their source', () => {
    assert.throws(() => parseEventSource(parse(['--local', '--agent', 'http://x:1']), {}), /--agent and --local exclude each other/);
    assert.throws(() => parseEventSource(parse(['--agent', 'not a url']), {}), /--agent: "not a url" is not a URL/);
    assert.throws(() => parseEventSource(parse(['--agent', 'ftp://x']), {}), /--agent: ftp:\/\/x: only http and https/);
    assert.throws(() => parseEventSource(parse([]), { MAXPRO_AGENT_URL: 'x' }), /MAXPRO_AGENT_URL: "x" is not a URL/);
  });
});
