// SPDX-License-Identifier: Apache-2.0
/**
 * Service port classes: the label that splits TCP aggregates by what a port
 * serves without one series per port. The kernel reads a 64 Ki-entry byte
 * array (port -> class id); class 0 is `other`.
 */
import { InvalidArgumentError } from '../../lib/errors.js';

/** A class name and its ports (single ports or [from, to] ranges, inclusive). */
export interface PortClass {
  name: string;
  ports: readonly (number | readonly [number, number])[];
}

/** The default classes: common service ports by protocol family (4317 is OTLP/gRPC, 4318 OTLP/HTTP). */
export const DEFAULT_PORT_CLASSES: readonly PortClass[] = [
  { name: 'http', ports: [80, 8080, 8000, 8008, 8888] },
  { name: 'https', ports: [443, 8443] },
  { name: 'dns', ports: [53] },
  { name: 'ssh', ports: [22] },
  { name: 'postgres', ports: [5432] },
  { name: 'mysql', ports: [3306] },
  { name: 'redis', ports: [6379] },
  { name: 'kafka', ports: [9092] },
  { name: 'grpc-otlp', ports: [4317] },
  { name: 'kube-api', ports: [6443, 10250] },
  { name: 'etcd', ports: [2379, 2380] },
  { name: 'mongodb', ports: [27017] },
  { name: 'memcached', ports: [11211] },
  { name: 'amqp', ports: [5672] },
  { name: 'system', ports: [[1, 1023]] },
  { name: 'ephemeral', ports: [[32768, 65535]] },
  // Appended so the ids of the classes above stay what they were.
  { name: 'http-otlp', ports: [4318] },
];

export interface PortClassTable {
  /** Port -> class id, 65536 bytes, as the kernel map holds it. */
  readonly table: Uint8Array;
  /** Class id -> name; id 0 is `other`. */
  readonly names: readonly string[];
}

/**
 * Builds the table. Earlier classes win where ports overlap, so name single
 * ports before the ranges that contain them. May throw `InvalidArgumentError`.
 */
export function buildPortClassTable(classes: readonly PortClass[] = DEFAULT_PORT_CLASSES): PortClassTable {
  if (classes.length > 255) throw new InvalidArgumentError(`port classes: ${classes.length} classes, at most 255`);
  const table = new Uint8Array(65536);
  const names = ['other'];
  classes.forEach((c, i) => {
    if (!/^[a-zA-Z0-9_.-]{1,32}$/.test(c.name)) throw new InvalidArgumentError(`port classes: bad class name ${JSON.stringify(c.name)}`);
    if (names.includes(c.name)) throw new InvalidArgumentError(`port classes: duplicate class ${c.name}`);
    names.push(c.name);
    for (const p of c.ports) {
      const [from, to] = typeof p === 'number' ? [p, p] : p;
      if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || from > to) {
        throw new InvalidArgumentError(`port classes: ${c.name}: bad port or range ${JSON.stringify(p)}`);
      }
      for (let port = from; port <= to; port++) if (table[port] === 0) table[port] = i + 1;
    }
  });
  return { table, names };
}
