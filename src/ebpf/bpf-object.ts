// SPDX-License-Identifier: Apache-2.0
/**
 * A loaded BPF object: its programs and maps. `close()` detaches every link
 * made through its programs and frees every fd. Idempotent.
 */
import { ClosedError, NotFoundError } from '../lib/errors.js';
import { native } from './native.js';
import type { NativeMapInfo, NativeProgramInfo, ObjectHandle } from './native.js';
import { createProgram } from './program.js';
import type { Program } from './program.js';
import { createBpfMap } from './bpf-map.js';
import type { BpfMap } from './bpf-map.js';
import type { Link } from './link.js';

export interface BpfObject {
  readonly name: string;
  readonly programs: ReadonlyMap<string, Program>;
  readonly maps: ReadonlyMap<string, BpfMap>;
  /** May throw `NotFoundError` (also for a program not loaded: autoload off). */
  program(name: string): Program;
  map(name: string): BpfMap;
  /** Links made through this object's programs and not yet destroyed. */
  readonly links: readonly Link[];
  readonly closed: boolean;
  close(): void;
}

/** @internal Called by ObjectSpec.load(). */
export function createBpfObject(
  name: string, handle: ObjectHandle, progs: readonly NativeProgramInfo[], maps: readonly NativeMapInfo[],
  progFds: Record<string, number>, mapFds: Record<string, number>, onClose?: () => void,
): BpfObject {
  let h: ObjectHandle | undefined = handle;
  const links = new Set<Link>();
  const getHandle = (): ObjectHandle => {
    if (!h) throw new ClosedError(`bpf object ${name}`);
    return h;
  };
  const programs = new Map<string, Program>();
  for (const p of progs) {
    const fd = progFds[p.name];
    if (fd === undefined || fd < 0) continue; // autoload was off
    programs.set(p.name, createProgram(name, getHandle, p.name, p.section, p.type, fd, (l) => links.add(l), (l) => links.delete(l)));
  }
  const mapObjs = new Map<string, BpfMap>();
  for (const m of maps) {
    const fd = mapFds[m.name];
    if (fd === undefined || fd < 0) continue;
    mapObjs.set(m.name, createBpfMap(m, fd, () => h !== undefined));
  }
  return {
    name,
    programs,
    maps: mapObjs,
    program(p: string): Program {
      getHandle();
      const prog = programs.get(p);
      if (!prog) throw new NotFoundError(`no loaded program ${p} in ${name}`);
      return prog;
    },
    map(m: string): BpfMap {
      getHandle();
      const map = mapObjs.get(m);
      if (!map) throw new NotFoundError(`no map ${m} in ${name}`);
      return map;
    },
    get links(): readonly Link[] {
      return [...links];
    },
    get closed(): boolean {
      return h === undefined;
    },
    close(): void {
      if (!h) return;
      for (const l of [...links]) l.destroy();
      native().objectClose(h);
      h = undefined;
      onClose?.();
    },
  };
}
