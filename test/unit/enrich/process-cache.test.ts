// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProcessCache, parseProcStat } from '../../../src/enrich/process-cache.js';

describe('process cache', () => {
  test('evicts the least recently used entry when full', () => {
    const c = createProcessCache({ maxEntries: 3 });
    for (const pid of [10, 11, 12]) c.upsert({ pid, ppid: 1, comm: `p${pid}` });
    c.get(10); // 11 is now the oldest
    c.upsert({ pid: 13, ppid: 1, comm: 'p13' });
    assert.equal(c.size, 3);
    assert.equal(c.get(11), undefined);
    assert.ok(c.get(10));
    assert.equal(c.stats().evictions, 1);
  });
  test('stays bounded under a storm of short-lived processes', () => {
    let now = 0;
    const c = createProcessCache({ maxEntries: 1000, graceMs: 50, now: () => now });
    for (let pid = 2; pid < 200_000; pid++) {
      c.upsert({ pid, ppid: 1, comm: 'true' });
      c.markExited(pid);
      now += 0.1;
    }
    assert.ok(c.size <= 1000, `size ${c.size}`);
    const s = c.stats();
    assert.ok(s.expired > 190_000, `expired ${s.expired}`);
  });
  test('keeps an exited process for the grace period, then drops it', () => {
    let now = 1000;
    const c = createProcessCache({ graceMs: 500, now: () => now });
    c.upsert({ pid: 42, ppid: 1, comm: 'x' });
    c.markExited(42);
    now += 499;
    assert.equal(c.get(42)?.comm, 'x');
    now += 2;
    assert.equal(c.get(42), undefined);
  });
  test('a reused pid is not expired by its predecessor\'s exit', () => {
    let now = 0;
    const c = createProcessCache({ graceMs: 10, now: () => now });
    c.upsert({ pid: 7, ppid: 1, comm: 'old' });
    c.markExited(7);
    now = 5;
    c.update(7, { ppid: 1, comm: 'new' });
    now = 100;
    assert.equal(c.get(7)?.comm, 'new');
  });
  test('ancestry follows ppid up to pid 1 and honours the depth', () => {
    const c = createProcessCache();
    c.upsert({ pid: 1, ppid: 0, comm: 'init' });
    c.upsert({ pid: 100, ppid: 1, comm: 'sshd', exe: '/usr/sbin/sshd' });
    c.upsert({ pid: 200, ppid: 100, comm: 'bash' });
    c.upsert({ pid: 300, ppid: 200, comm: 'ls' });
    assert.deepEqual(c.ancestry(300, 8).map((a) => a.pid), [200, 100, 1]);
    assert.deepEqual(c.ancestry(300, 2).map((a) => a.comm), ['bash', 'sshd']);
    assert.deepEqual(c.ancestry(300, 0), []);
    c.upsert({ pid: 400, ppid: 999, comm: 'orphan' });
    assert.deepEqual(c.ancestry(400, 8), [{ pid: 999 }]);
  });
  test('seeding from /proc gives this process its parent chain', () => {
    const c = createProcessCache();
    const n = c.seedFromProc();
    assert.ok(n > 1);
    const self = c.get(process.pid);
    assert.ok(self);
    assert.equal(self.ppid, process.ppid);
    assert.equal(self.exe, process.execPath);
    const chain = c.ancestry(process.pid, 64);
    assert.equal(chain[0]?.pid, process.ppid);
    assert.equal(chain.at(-1)?.pid, 1);
  });
  test('parses /proc/<pid>/stat with spaces and parentheses in comm', () => {
    const s = parseProcStat('123 (a) b (c)) S 77 123 123 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4242 1000 100 18446744073709551615');
    assert.deepEqual(s, { ppid: 77, comm: 'a) b (c)', startBootNs: 4242 * 1e7 });
  });
});
