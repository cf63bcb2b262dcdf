// SPDX-License-Identifier: Apache-2.0
/**
 * Fixed-width text tables for live CLI output: a header line, then one line
 * per row as rows arrive. Columns have a width, an alignment and a
 * truncation side; the last column may be unbounded (width 0).
 */
import { InvalidArgumentError } from '../../lib/errors.js';

export interface TableColumn {
  header: string;
  /** Characters; 0 means unbounded (only sensible for the last column). */
  width: number;
  /** Default `left`. */
  align?: 'left' | 'right';
  /** Where a long value is cut, marked with `…`. Default `end`. */
  truncate?: 'start' | 'end';
}

export interface TableOptions {
  columns: readonly TableColumn[];
  /** Between columns. Default two spaces. */
  separator?: string;
}

export interface Table {
  /** The header line (no newline). */
  header(): string;
  /** One row (no newline); missing cells are empty. */
  row(cells: readonly (string | number | undefined)[]): string;
}

const ELLIPSIS = '…';

/** Fits `value` into `width` characters, cutting at the given side. */
export function fitCell(value: string, width: number, align: 'left' | 'right' = 'left', truncate: 'start' | 'end' = 'end'): string {
  if (width <= 0) return value;
  let v = value.replace(/[\n\r\t]/g, ' ');
  if (v.length > width) {
    v = width === 1 ? ELLIPSIS : truncate === 'start' ? ELLIPSIS + v.slice(v.length - width + 1) : v.slice(0, width - 1) + ELLIPSIS;
  }
  return align === 'right' ? v.padStart(width) : v.padEnd(width);
}

/** Creates a table. May throw `InvalidArgumentError` for a bad column. */
export function createTable(options: TableOptions): Table {
  const { columns } = options;
  if (columns.length === 0) throw new InvalidArgumentError('createTable: needs at least one column');
  for (const c of columns) {
    if (!Number.isInteger(c.width) || c.width < 0) throw new InvalidArgumentError(`createTable: column ${c.header}: width ${c.width} must be an integer >= 0`);
  }
  const sep = options.separator ?? '  ';
  const line = (cells: readonly string[]): string =>
    columns.map((c, i) => fitCell(cells[i] ?? '', c.width, c.align, c.truncate)).join(sep).trimEnd();
  return {
    header: () => line(columns.map((c) => c.header)),
    row: (cells) => line(cells.map((c) => (c === undefined ? '' : String(c)))),
  };
}
