// SPDX-License-Identifier: Apache-2.0
/**
 * The byte layout of a C event struct as TypeScript reads it. Decoders read
 * fields at these offsets straight from the batch; a kernel-free test compares
 * every layout with the BTF of the compiled object so C and TS cannot drift.
 */

export interface FieldLayout {
  readonly offset: number;
  readonly size: number;
}

export interface EventLayout<F extends string = string> {
  /** The C struct name, e.g. `process_event`. */
  readonly struct: string;
  /** The probe whose object declares it. */
  readonly probe: string;
  readonly size: number;
  readonly fields: Readonly<Record<F, FieldLayout>>;
}

/** Declares a layout; field names are the C member names. */
export function defineLayout<F extends string>(probe: string, struct: string, size: number, fields: Record<F, FieldLayout>): EventLayout<F> {
  return Object.freeze({ probe, struct, size, fields: Object.freeze(fields) });
}

/** Offsets of struct maxpro_event_hdr (bpf/include/maxpro/event.h). */
export const EVENT_HEADER = defineLayout('ringbuf_bench', 'maxpro_event_hdr', 16, {
  kind: { offset: 0, size: 1 },
  version: { offset: 1, size: 1 },
  flags: { offset: 2, size: 2 },
  size: { offset: 4, size: 4 },
  boot_ns: { offset: 8, size: 8 },
});

const decoder = new TextDecoder();

/** Reads a NUL-terminated C string of at most `max` bytes (ASCII fast path). */
export function readCString(bytes: Uint8Array, offset: number, max: number): string {
  let end = offset;
  const limit = offset + max;
  let ascii = true;
  while (end < limit) {
    const c = bytes[end]!;
    if (c === 0) break;
    if (c > 0x7f) ascii = false;
    end++;
  }
  if (end === offset) return '';
  if (ascii && end - offset <= 32) {
    // String.fromCharCode is ~4x cheaper than TextDecoder for short ASCII.
    let s = '';
    for (let i = offset; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return decoder.decode(bytes.subarray(offset, end));
}
