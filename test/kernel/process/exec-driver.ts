// SPDX-License-Identifier: Apache-2.0
/** Builds and runs the C exec scenario driver (exec-scenarios.c) for kernel tests. */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../../../test/kernel/process/exec-scenarios.c', import.meta.url));

export interface DriverRun {
  driverPid: number;
  /** One line per child: index, kind, child pid. */
  children: { index: number; kind: number; pid: number }[];
  exitCode: number | null;
}

export interface ExecDriver {
  dir: string;
  binary: string;
  /** A file without execute permission: execve gives EACCES even for root. */
  noexec: string;
  run(count: number, prefix: string): Promise<DriverRun>;
  cleanup(): void;
}

/** Compiles the driver with gcc into a temporary directory. */
export function buildExecDriver(): ExecDriver {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-exec-'));
  const binary = join(dir, 'exec-scenarios');
  execFileSync('gcc', ['-O2', '-pthread', '-o', binary, SOURCE]);
  const noexec = join(dir, 'not-executable');
  writeFileSync(noexec, '#!/bin/sh\nexit 0\n');
  chmodSync(noexec, 0o644);
  return {
    dir,
    binary,
    noexec,
    run(count, prefix) {
      return new Promise((resolve, reject) => {
        const child = spawn(binary, [String(count), prefix, noexec], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('latin1');
        child.stdout.on('data', (d: string) => { out += d; });
        child.on('error', reject);
        child.on('close', (code) => {
          const children = out.trim().split('\n').filter(Boolean).map((l) => {
            const [index, kind, pid] = l.split(' ').map(Number);
            return { index: index!, kind: kind!, pid: pid! };
          });
          resolve({ driverPid: child.pid!, children, exitCode: code });
        });
      });
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
