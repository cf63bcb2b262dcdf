// SPDX-License-Identifier: Apache-2.0
/** Real network namespaces and veth pairs for tests; torn down by `close()`. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface VethPair {
  /** Host-side interface name and ifindex. */
  host: string;
  hostIndex: number;
  hostAddr: string;
  /** The namespace holding the peer. */
  netns: string;
  peer: string;
  peerAddr: string;
  /** Runs a command inside the namespace. */
  exec(cmd: string[]): string;
  close(): void;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/**
 * Creates `<prefix>h` in this namespace and `<prefix>p` inside a new netns,
 * addressed 10.<subnet>.0.1/30 and .2 (these exist only inside this pair).
 */
export function createVethPair(prefix: string, subnet: number): VethPair {
  const netns = `${prefix}ns`;
  const host = `${prefix}h`;
  const peer = `${prefix}p`;
  const cleanup = (): void => {
    for (const args of [['link', 'del', host], ['netns', 'del', netns]]) {
      try { execFileSync('ip', args, { stdio: 'ignore' }); } catch { /* already gone */ }
    }
  };
  cleanup();
  ip(['netns', 'add', netns]);
  ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
  ip(['link', 'set', peer, 'netns', netns]);
  const hostAddr = `10.${subnet}.0.1`;
  const peerAddr = `10.${subnet}.0.2`;
  ip(['addr', 'add', `${hostAddr}/30`, 'dev', host]);
  ip(['link', 'set', host, 'up']);
  ip(['-n', netns, 'addr', 'add', `${peerAddr}/30`, 'dev', peer]);
  ip(['-n', netns, 'link', 'set', peer, 'up']);
  ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  const hostIndex = Number(readFileSync(`/sys/class/net/${host}/ifindex`, 'utf8').trim());
  return {
    host, hostIndex, hostAddr, netns, peer, peerAddr,
    exec: (cmd) => execFileSync('ip', ['netns', 'exec', netns, ...cmd], { encoding: 'utf8' }),
    close: cleanup,
  };
}
