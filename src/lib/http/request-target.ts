// SPDX-License-Identifier: Apache-2.0
/**
 * Parses an HTTP request target without throwing. `new URL(req.url, base)`
 * throws on targets such as `//` (read as a host-less scheme-relative URL)
 * and resolves `..`; a server must answer those, not die on them.
 */

export interface RequestTarget {
  /** The path as sent (origin-form), or the path of an absolute-form target. */
  pathname: string;
  searchParams: URLSearchParams;
}

/** The path and query of `raw`; undefined when it is no origin-form or absolute-form target. */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  const s = raw ?? '/';
  try {
    if (s.startsWith('/')) {
      const q = s.indexOf('?');
      const pathname = q < 0 ? s : s.slice(0, q);
      const query = q < 0 ? '' : s.slice(q + 1).split('#')[0]!;
      return { pathname: pathname.split('#')[0]!, searchParams: new URLSearchParams(query) };
    }
    if (/^https?:\/\//i.test(s)) {
      const u = new URL(s);
      return { pathname: u.pathname, searchParams: u.searchParams };
    }
  } catch {
    // An absolute-form target that is no URL: answered as a bad request.
  }
  return undefined;
}
