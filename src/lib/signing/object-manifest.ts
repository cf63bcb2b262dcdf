// SPDX-License-Identifier: Apache-2.0
/**
 * The signed manifest of a directory of BPF objects (`manifest.json`, signed
 * like an object: `manifest.json.sig`, `manifest.json.sigstore.json`). It
 * binds each object's name, version and architecture to its SHA-256, so a
 * validly signed object cannot stand in for another one or for a newer
 * version of itself.
 */
export const MANIFEST_MEDIA_TYPE = 'application/vnd.maxpro.bpf-manifest.v1+json';
export const MANIFEST_FILE = 'manifest.json';

export interface ManifestEntry {
  /** The object's name: its file name without `.bpf.o`. */
  name: string;
  file: string;
  /** MaxPro's version that built it (semver). */
  version: string;
  /** BPF target architecture as `make -C bpf` names it (`x86`, `arm64`). */
  arch: string;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  size: number;
}

export interface ObjectManifest {
  mediaType: typeof MANIFEST_MEDIA_TYPE;
  objects: ManifestEntry[];
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** The architecture names of `bpf/Makefile` (`uname -m` and Node spellings map onto them). */
export function bpfArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: 'x86', x86_64: 'x86', x86: 'x86', arm64: 'arm64', aarch64: 'arm64', ppc64: 'powerpc', ppc64le: 'powerpc', s390x: 's390', s390: 's390', riscv64: 'riscv' };
  return map[arch] ?? arch;
}

/** Compares two semver strings (pre-releases sort before their release). */
export function compareVersions(a: string, b: string): number {
  const pa = SEMVER.exec(a), pb = SEMVER.exec(b);
  if (!pa || !pb) throw new RangeError(`not a version: ${pa ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  if (pa[4] === pb[4]) return 0;
  if (pa[4] === undefined) return 1;
  if (pb[4] === undefined) return -1;
  return pa[4] < pb[4] ? -1 : 1;
}

export const isVersion = (v: unknown): v is string => typeof v === 'string' && SEMVER.test(v);

/** Parses a manifest whose signature was checked; undefined-free or a description of what is wrong. */
export function parseManifest(text: string): ObjectManifest | string {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!m || typeof m !== 'object') return 'not an object';
  const o = m as Partial<ObjectManifest>;
  if (o.mediaType !== MANIFEST_MEDIA_TYPE) return `media type ${JSON.stringify(o.mediaType)} is not ${MANIFEST_MEDIA_TYPE}`;
  if (!Array.isArray(o.objects)) return 'no objects list';
  for (const [i, e] of o.objects.entries()) {
    const x = e as Partial<ManifestEntry>;
    if (typeof x?.name !== 'string' || typeof x.file !== 'string' || typeof x.arch !== 'string' || !isVersion(x.version) ||
      typeof x.sha256 !== 'string' || !HEX64.test(x.sha256) || !Number.isSafeInteger(x.size)) return `objects[${i}] is not {name, file, version, arch, sha256, size}`;
  }
  return o as ObjectManifest;
}

export function formatManifest(objects: ManifestEntry[]): string {
  const sorted = [...objects].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return `${JSON.stringify({ mediaType: MANIFEST_MEDIA_TYPE, objects: sorted }, null, 2)}\n`;
}
