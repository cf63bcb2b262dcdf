// SPDX-License-Identifier: Apache-2.0
/** Reads an NDJSON response body in the background, one parsed line at a time, until it ends or is aborted. */
export function readNdjson(res: Response, onLine: (line: unknown) => void): void {
  void (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      }
    } catch { /* aborted */ }
  })();
}
