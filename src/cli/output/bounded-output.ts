// SPDX-License-Identifier: Apache-2.0
/**
 * Output that cannot grow the process: text is written while the stream's
 * own buffer holds less than `limitBytes`; past that (stdout piped to a
 * reader that stopped reading) it is dropped and counted, so the command can
 * report it with its other losses.
 */

export interface BoundedOutput {
  /** Writes `text`, which holds `items` records; returns false (and counts them) when it was dropped. */
  write(text: string, items: number): boolean;
  /** Records dropped so far. */
  dropped(): number;
}

export const DEFAULT_OUTPUT_LIMIT_BYTES = 1 << 20;

export function createBoundedOutput(stream: NodeJS.WritableStream, limitBytes = DEFAULT_OUTPUT_LIMIT_BYTES): BoundedOutput {
  let dropped = 0;
  // Streams without a buffer figure (test sinks) are never behind.
  const backlog = (): number => (stream as { writableLength?: number }).writableLength ?? 0;
  return {
    write(text, items) {
      if (backlog() > limitBytes) {
        dropped += items;
        return false;
      }
      stream.write(text);
      return true;
    },
    dropped: () => dropped,
  };
}
