// SPDX-License-Identifier: Apache-2.0
/** Whether a listen host is reachable from this node only. */
import { isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1, their IPv4-mapped forms and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}
