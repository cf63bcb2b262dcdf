// SPDX-License-Identifier: Apache-2.0
/** An attachment of a program to a hook. */
import { ClosedError } from '../lib/errors.js';
import { native } from './native.js';
import type { LinkHandle } from './native.js';

export interface Link {
  /** What it is attached to, e.g. `tracepoint/sched/sched_process_exec`. */
  readonly target: string;
  readonly program: string;
  /** Pins the link in bpffs so it outlives this process. */
  pin(path: string): void;
  unpin(): void;
  /** Detaches. Idempotent. */
  destroy(): void;
  /** Forgets the link without detaching it (after pin). Idempotent. */
  disconnect(): void;
  readonly destroyed: boolean;
}

/** @internal Wraps a native link handle; `onDestroy` unregisters it from its object. */
export function createLink(handle: LinkHandle, program: string, target: string, onDestroy: (l: Link) => void): Link {
  let h: LinkHandle | undefined = handle;
  const link: Link = {
    target,
    program,
    pin(path: string): void {
      if (!h) throw new ClosedError(`link ${target}`);
      native().linkPin(h, path);
    },
    unpin(): void {
      if (!h) throw new ClosedError(`link ${target}`);
      native().linkUnpin(h);
    },
    destroy(): void {
      if (!h) return;
      native().linkDestroy(h);
      h = undefined;
      onDestroy(link);
    },
    disconnect(): void {
      if (!h) return;
      native().linkDisconnect(h);
      native().linkDestroy(h);
      h = undefined;
      onDestroy(link);
    },
    get destroyed(): boolean {
      return h === undefined;
    },
  };
  return link;
}

/**
 * Opens a link pinned by an earlier process (e.g. one that crashed), so this
 * one can detach it: `unpin()` then `destroy()`. May throw `SyscallError`
 * (ENOENT: nothing pinned there).
 */
export function openPinnedLink(path: string): Link {
  return createLink(native().linkOpenPinned(path), '', `pinned:${path}`, () => undefined);
}
