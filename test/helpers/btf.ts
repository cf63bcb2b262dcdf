// SPDX-License-Identifier: Apache-2.0
/** Reads struct layouts from the BTF of a compiled BPF object with bpftool. */
import { execFileSync } from 'node:child_process';

export interface BtfMember {
  name: string;
  offset: number; // bytes
  size: number; // bytes, 0 when unknown
}

export interface BtfStruct {
  name: string;
  size: number;
  members: BtfMember[];
}

interface RawType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
}

/** Every struct in the object's BTF, by name. Throws when bpftool is missing. */
export function readBtfStructs(objectPath: string): Map<string, BtfStruct> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', objectPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const types = (JSON.parse(out) as { types: RawType[] }).types;
  const byId = new Map(types.map((t) => [t.id, t]));
  const sizeOf = (id: number, depth = 0): number => {
    const t = byId.get(id);
    if (!t || depth > 32) return 0;
    switch (t.kind) {
      case 'INT': case 'STRUCT': case 'UNION': case 'ENUM': case 'ENUM64': case 'FLOAT': return t.size ?? 0;
      case 'PTR': return 8;
      case 'ARRAY': return (t.nr_elems ?? 0) * sizeOf(t.type_id ?? 0, depth + 1);
      case 'TYPEDEF': case 'CONST': case 'VOLATILE': case 'RESTRICT': case 'TYPE_TAG': return sizeOf(t.type_id ?? 0, depth + 1);
      default: return 0;
    }
  };
  const structs = new Map<string, BtfStruct>();
  for (const t of types) {
    if (t.kind !== 'STRUCT' || !t.name) continue;
    structs.set(t.name, {
      name: t.name,
      size: t.size ?? 0,
      members: (t.members ?? []).map((m) => ({ name: m.name, offset: m.bits_offset / 8, size: sizeOf(m.type_id) })),
    });
  }
  return structs;
}
