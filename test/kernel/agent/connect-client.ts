// SPDX-License-Identifier: Apache-2.0
// Test child: joins a cgroup, then opens and closes N TCP connections one after another.
// Usage: connect-client.js <cgroup dir> <host> <port> <n>
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';

const [cgroup, host, port, n] = process.argv.slice(2);
writeFileSync(`${cgroup}/cgroup.procs`, String(process.pid));
for (let i = 0; i < Number(n); i++) {
  await new Promise<void>((resolve, reject) => {
    const s = connect(Number(port), host!, () => {
      s.end();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}
