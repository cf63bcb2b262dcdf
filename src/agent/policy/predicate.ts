// SPDX-License-Identifier: Apache-2.0
/**
 * Behaviour predicates such as `tcp.connect.latency > 100ms`,
 * `process.exit.code != 0` or `tcp.retransmits > 0`. A predicate compares one
 * numeric event field with a constant; durations take a unit (ns, us, ms, s,
 * m, h) and are held in nanoseconds, sizes take B, KiB, MiB, GiB.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { PROBE_MODULES } from '../../probes/registry.js';
import type { ProbeName } from '../../probes/registry.js';
import type { KernelPredicate, PredicateFieldSpec } from '../../probes/probe-module.js';

export type PredicateOperator = KernelPredicate['op'];
export type FieldUnit = PredicateFieldSpec['unit'];

export interface PredicateField extends PredicateFieldSpec {
  /** The probe whose events carry it. */
  probe: ProbeName;
}

/** Every field a predicate may name: the fields of every registered probe. */
export const PREDICATE_FIELDS: Readonly<Record<string, PredicateField>> = Object.fromEntries(
  PROBE_MODULES.flatMap((m) => Object.entries(m.predicateFields).map(([field, def]) => [field, { probe: m.name, ...def }])),
);

export interface Predicate {
  readonly source: string;
  readonly field: string;
  readonly op: PredicateOperator;
  /** In the field's base unit (ns, count, bytes). */
  readonly value: number;
  readonly def: PredicateField;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1 << 20, gb: 1e9, gib: 2 ** 30 };

function fail(text: string, why: string): never {
  throw new InvalidArgumentError(`predicate ${JSON.stringify(text)}: ${why}`);
}

function parseValue(text: string, raw: string, def: PredicateField): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*([A-Za-zµ]*)$/.exec(raw);
  if (!m) fail(text, `${JSON.stringify(raw)} is not a number`);
  const n = Number(m[1]);
  const unit = m[2]!;
  switch (def.unit) {
    case 'duration': {
      if (unit === '') fail(text, 'a duration needs a unit (ns, us, ms, s, m, h)');
      const mult = DURATION_UNITS[unit];
      if (mult === undefined) fail(text, `unknown duration unit ${JSON.stringify(unit)} (use ns, us, ms, s, m, h)`);
      return Math.round(n * mult);
    }
    case 'bytes': {
      const mult = unit === '' ? 1 : BYTE_UNITS[unit.toLowerCase()];
      if (mult === undefined) fail(text, `unknown size unit ${JSON.stringify(unit)} (use B, KiB, MiB, GiB, KB, MB, GB)`);
      return Math.round(n * mult);
    }
    default:
      if (unit !== '') fail(text, `${JSON.stringify(unit)}: this field takes a plain number`);
      if (!Number.isInteger(n)) fail(text, `${raw} is not an integer`);
      return n;
  }
}

/** True when some value in [min, max] satisfies `v op value`. */
function satisfiable(op: PredicateOperator, value: number, min: number, max: number): boolean {
  switch (op) {
    case '>': return max > value;
    case '>=': return max >= value;
    case '<': return min < value;
    case '<=': return min <= value;
    case '==': return value >= min && value <= max;
    case '!=': return !(min === max && min === value);
  }
}

/** True when every value in [min, max] satisfies it: the predicate filters nothing. */
function tautology(op: PredicateOperator, value: number, min: number, max: number): boolean {
  switch (op) {
    case '>': return min > value;
    case '>=': return min >= value;
    case '<': return max < value;
    case '<=': return max <= value;
    case '==': return min === max && min === value;
    case '!=': return value < min || value > max;
  }
}

/**
 * Parses one predicate. Refuses unknown fields, bad units and thresholds that
 * no event can meet (or that every event meets), naming the reason. May throw
 * `InvalidArgumentError`.
 */
export function parsePredicate(text: string): Predicate {
  const m = /^\s*([a-z][a-z0-9_.]*)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*$/.exec(text);
  if (!m) fail(text, 'expected "<field> <op> <value>", e.g. "tcp.connect.latency > 100ms"');
  const field = m[1]!;
  const def = PREDICATE_FIELDS[field];
  if (!def) fail(text, `unknown field ${JSON.stringify(field)} (known: ${Object.keys(PREDICATE_FIELDS).join(', ')})`);
  const op = (m[2] === '=' ? '==' : m[2]) as PredicateOperator;
  const value = parseValue(text, m[3]!, def);
  if (!satisfiable(op, value, def.min, def.max)) {
    fail(text, `impossible threshold: ${field} is always within ${def.min}..${def.max}${def.unit === 'duration' ? ' ns' : ''}, so "${op} ${m[3]}" never holds`);
  }
  if (tautology(op, value, def.min, def.max)) fail(text, `the threshold always holds for ${field}; drop the predicate instead`);
  return { source: `${field} ${op} ${m[3]}`, field, op, value, def };
}

/** Splits `a && b` / `a and b` (or a list) into parsed predicates. */
export function parsePredicates(when: string | readonly string[] | undefined): Predicate[] {
  if (when === undefined) return [];
  const parts = (typeof when === 'string' ? [when] : when).flatMap((w) => w.split(/\s+and\s+|\s*&&\s*/));
  return parts.filter((p) => p.trim() !== '').map(parsePredicate);
}

/** Evaluates a predicate on a field value; an absent field never matches. */
export function evaluatePredicate(p: Predicate, v: number | undefined): boolean {
  if (v === undefined) return false;
  switch (p.op) {
    case '>': return v > p.value;
    case '>=': return v >= p.value;
    case '<': return v < p.value;
    case '<=': return v <= p.value;
    case '==': return v === p.value;
    case '!=': return v !== p.value;
  }
}
