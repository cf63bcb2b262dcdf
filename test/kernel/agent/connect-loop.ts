// SPDX-License-Identifier: Apache-2.0
// Test child: joins a cgroup, then opens and closes TCP connections one after another until SIGTERM.
// Prints `count N` on SIGUSR1 (connections completed so far) and `total N` before it exits.
// Usage: connect-loop.js <cgroup dir> <host> <port>
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';

const [cgroup, host, port] = process.argv.slice(2);
writeFileSync(`${cgroup}/cgroup.procs`, String(process.pid));
let n = 0;
let stop = false;
process.on('SIGUSR1', () => process.stdout.write(`count ${n}\n`));
process.on('SIGTERM', () => { stop = true; });
process.stdout.write('ready\n');
while (!stop) {
  await new Promise<void>((resolve, reject) => {
    const s = connect(Number(port), host!, () => {
      n++;
      s.end();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}
process.stdout.write(`total ${n}\n`);
