// SPDX-License-Identifier: Apache-2.0
/**
 * From a cgroup path to the workload that owns it: container runtime,
 * container id and pod UID. Pure functions over strings, so every rule is
 * testable without root. Recognises containerd (also `cri-containerd` forms),
 * CRI-O, docker and podman, under the systemd and cgroupfs drivers, Amazon
 * ECS tasks, a bare 64-hex container cgroup under any prefix, plus systemd
 * services, LXC and Talos system services.
 */

/**
 * The class of a cgroup. The names follow one widely used node agent's
 * conventions: Kubernetes cgroupfs paths whose runtime cannot be told from
 * the path are classed `docker`, a container scope directly under
 * system.slice without a pod is a `standalone_process`.
 */
export type CgroupKind =
  | 'docker' | 'containerd' | 'crio' | 'podman' | 'lxc' | 'talos_runtime' | 'ecs'
  | 'container' | 'systemd_service' | 'sandbox' | 'standalone_process' | 'unknown';

/** Container runtimes reported as `container.runtime`. */
export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'lxc';

export interface ContainerIdentity {
  kind: CgroupKind;
  /**
   * The workload id: a 64-hex container id for containers, the unit path for
   * systemd services (`\x2d` unescaped), `/lxc/<name>`, `/talos/<name>`;
   * empty for a standalone process.
   */
  id: string;
  /** Set for containers only. */
  runtime?: ContainerRuntime;
  /** The Kubernetes pod UID, with dashes, when the path is under kubepods. */
  podUid?: string;
  /** Kubernetes QoS class from the path: guaranteed, burstable or besteffort. */
  qosClass?: 'guaranteed' | 'burstable' | 'besteffort';
}

// Ids are anchored: 65 hex digits are not a container id with one digit to spare.
const HEX64 = /(?<![a-f0-9])([a-f0-9]{64})(?![a-f0-9])/;
const CRIO_ID = /crio-([a-f0-9]{64})(?![a-f0-9])/;
const CONTAINERD_ID = /cri-containerd[-:]([a-f0-9]{64})(?![a-f0-9])/;
const PODMAN_ID = /libpod-([a-f0-9]{64})(?![a-f0-9])/;
// ECS: /ecs/<task>/<64-hex docker id> on EC2; /ecs/<task>/<task>-<n> on Fargate (containerd).
const ECS = /^\/ecs\/([a-f0-9]{32})\/(?:([a-f0-9]{64})|(\1-\d+))$/;
// Any runtime or cgroup parent: the last segment is a 64-hex id, bare or as `<prefix>-<id>[.scope]`.
const GENERIC_ID = /^(?:[A-Za-z0-9_.]+[-:])?([a-f0-9]{64})(?:\.scope)?$/;
const LXC_ID = /^\/lxc\/([^/]+)/;
const SYSTEMD_UNIT = /^(\/(?:system|runtime|reserved|kube|azure|podruntime)\.slice\/[^/]+\.(?:service|slice))(?:\/|$)/;
const POD_SYSTEMD = /kubepods(?:-(besteffort|burstable))?-pod([0-9a-f_]+)\.slice/;
const POD_CGROUPFS = /\/kubepods(?:\/(besteffort|burstable))?\/pod([0-9a-f-]+)(?:\/|$)/;

/** Undoes systemd unit-name escaping (`\x2d` is `-`, any `\xHH`). */
export function unescapeSystemd(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** The pod UID and QoS class in a kubepods path (systemd or cgroupfs driver). */
export function podFromCgroupPath(path: string): { podUid: string; qosClass: 'guaranteed' | 'burstable' | 'besteffort' } | undefined {
  const m = POD_SYSTEMD.exec(path) ?? POD_CGROUPFS.exec(path);
  if (!m) return undefined;
  // The systemd driver escapes the UID's dashes as underscores.
  const podUid = m[2]!.replace(/_/g, '-');
  const qos = m[1] as 'besteffort' | 'burstable' | undefined;
  return { podUid, qosClass: qos ?? 'guaranteed' };
}

/** Classifies a cgroup path (as `/proc/<pid>/cgroup` shows it). */
export function identifyCgroupPath(cgroupPath: string): ContainerIdentity {
  const path = cgroupPath.startsWith('/') ? cgroupPath : `/${cgroupPath}`;
  const parts = path.split('/').filter((p) => p !== '');
  const first = parts[0] ?? '';

  if (first.startsWith('lxc.payload.')) return { kind: 'lxc', id: `/lxc/${first.slice('lxc.payload.'.length)}`, runtime: 'lxc' };
  if (parts.length < 2) {
    if (path === '/init') return { kind: 'talos_runtime', id: '/talos/init' };
    const bare = GENERIC_ID.exec(first);
    if (bare) return { kind: 'container', id: bare[1]! };
    return { kind: 'standalone_process', id: '' };
  }
  if (first === 'user.slice' || first === 'init.scope') return { kind: 'standalone_process', id: '' };

  if (first === 'docker' || (first === 'system.slice' && parts[1]!.startsWith('docker-'))) {
    const m = HEX64.exec(path);
    return m ? { kind: 'docker', id: m[1]!, runtime: 'docker' } : { kind: 'unknown', id: '' };
  }
  if (path.includes('kubepods')) {
    const pod = podFromCgroupPath(path);
    const withPod = (x: ContainerIdentity): ContainerIdentity => (pod ? { ...x, podUid: pod.podUid, qosClass: pod.qosClass } : x);
    const crio = CRIO_ID.exec(path);
    if (crio) return withPod({ kind: 'crio', id: crio[1]!, runtime: 'cri-o' });
    // conmon, CRI-O's monitor, runs beside the container: not the workload.
    if (path.includes('crio-conmon-')) return withPod({ kind: 'unknown', id: '' });
    const cd = CONTAINERD_ID.exec(path);
    if (cd) return withPod({ kind: 'containerd', id: cd[1]!, runtime: 'containerd' });
    const pm = PODMAN_ID.exec(path);
    if (pm) return withPod({ kind: 'podman', id: pm[1]!, runtime: 'podman' });
    const m = HEX64.exec(path);
    // The pod's own cgroup (no container below it) holds the sandbox only.
    if (!m) return withPod({ kind: 'sandbox', id: '' });
    return withPod({ kind: 'docker', id: m[1]!, runtime: 'docker' });
  }
  // Podman: machine.slice/libpod-<id>.scope (systemd) or libpod_parent/libpod-<id> (cgroupfs).
  const pm = PODMAN_ID.exec(path);
  if (pm && (first === 'machine.slice' || first === 'libpod_parent' || first === 'user.slice')) {
    return { kind: 'podman', id: pm[1]!, runtime: 'podman' };
  }
  if (first === 'lxc') {
    const m = LXC_ID.exec(path);
    return m ? { kind: 'lxc', id: m[1]!, runtime: 'lxc' } : { kind: 'unknown', id: '' };
  }
  if (first === 'system' || first === 'podruntime') return { kind: 'talos_runtime', id: `/talos/${parts[1]}` };
  if (first === 'ecs') {
    const m = ECS.exec(path);
    if (m) return m[2] ? { kind: 'ecs', id: m[2], runtime: 'docker' } : { kind: 'ecs', id: m[3]!, runtime: 'containerd' };
    return { kind: 'unknown', id: '' };
  }
  const unit = SYSTEMD_UNIT.exec(path);
  if (unit) return { kind: 'systemd_service', id: unescapeSystemd(unit[1]!) };
  const generic = GENERIC_ID.exec(parts[parts.length - 1]!);
  if (generic) return { kind: 'container', id: generic[1]! };
  return { kind: 'standalone_process', id: '' };
}

/** Normalises a path with `.`/`..` segments; `..` above the root stays at the root. */
function normalise(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** A container (or pod) named by the path, as opposed to a service, a standalone process or nothing. */
function namesWorkload(id: ContainerIdentity): boolean {
  return id.podUid !== undefined || (id.id !== '' && id.kind !== 'systemd_service' && id.kind !== 'unknown' && id.kind !== 'standalone_process');
}

/**
 * The cgroup path that identifies a process, from the text of
 * `/proc/<pid>/cgroup`. Every line counts: a line whose path names a
 * container or pod wins (on v1 hosts the id may sit on controller lines only,
 * `N:cpu:/docker/<id>`), preferring `name=systemd`, then the v2 (`0::`) line,
 * then the first controller line. With no such line, `name=systemd` (it
 * follows the service even when controllers sit at the root), then `0::`,
 * then any controller line off the root. A relative path, seen from inside a
 * cgroup namespace, is resolved against `base`. An LXC payload is reduced to
 * its container. Returns undefined when every line is at the root.
 */
export function cgroupPathFromProcFile(content: string, base = '/'): string | undefined {
  let systemd: string | undefined;
  let unified: string | undefined;
  let controller: string | undefined;
  let workload: { rank: number; path: string } | undefined;
  for (const line of content.split('\n')) {
    const i = line.indexOf(':');
    const j = line.indexOf(':', i + 1);
    if (i < 0 || j < 0) continue;
    const controllers = line.slice(i + 1, j);
    const raw = line.slice(j + 1).trim();
    let p = normalise(raw.startsWith('/') && !raw.startsWith('/..') ? raw : `${base}/${raw}`);
    if (p === '/') continue;
    const lxc = /^\/lxc\.payload\.[^/]+/.exec(p);
    if (lxc) p = lxc[0];
    const isSystemd = controllers.split(',').includes('name=systemd');
    const rank = isSystemd ? 0 : controllers === '' ? 1 : 2;
    if (isSystemd) systemd = p;
    else if (controllers === '') unified = p;
    else controller ??= p;
    if ((workload === undefined || rank < workload.rank) && namesWorkload(identifyCgroupPath(p))) workload = { rank, path: p };
  }
  return workload?.path ?? systemd ?? unified ?? controller;
}

/**
 * A container named by a process's mounts, for a process whose cgroup file
 * shows only `0::/` (its own cgroup namespace, read from inside it):
 * - a cgroup mount whose root is below the reader's cgroup root (the kernel
 *   prints it relative to the reader's namespace);
 * - the files runtimes bind into a container: `/var/lib/docker/containers/<id>/hostname`
 *   (docker, also podman's `/containers/<storage>/<id>/userdata/`), and
 *   kubelet's `/pods/<uid>/etc-hosts` for the pod.
 * Returns the identity and the path it came from, or undefined.
 */
export function identityFromMountinfo(content: string): { path: string; identity: ContainerIdentity } | undefined {
  let pod: string | undefined;
  let fromFiles: ContainerIdentity | undefined;
  for (const line of content.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const fsType = line.slice(sep + 3).split(' ')[0];
    const root = unescapeMountinfo(fields[3] ?? '');
    if ((fsType === 'cgroup2' || fsType === 'cgroup') && root !== '/' && !root.startsWith('/..')) {
      const identity = identifyCgroupPath(root);
      if (namesWorkload(identity)) return { path: root, identity };
    }
    const docker = MOUNT_DOCKER.exec(root);
    if (docker && !fromFiles) fromFiles = { kind: 'docker', id: docker[1]!, runtime: 'docker' };
    const podman = MOUNT_PODMAN.exec(root);
    if (podman && !fromFiles) fromFiles = { kind: 'podman', id: podman[1]!, runtime: 'podman' };
    const kubelet = MOUNT_KUBELET_POD.exec(root);
    if (kubelet) pod ??= kubelet[1];
  }
  if (!fromFiles && !pod) return undefined;
  const identity: ContainerIdentity = fromFiles ?? { kind: 'sandbox', id: '' };
  return { path: '', identity: pod ? { ...identity, podUid: pod } : identity };
}

const MOUNT_DOCKER = /\/containers\/([a-f0-9]{64})\/(?:hostname|hosts|resolv\.conf)$/;
const MOUNT_PODMAN = /\/overlay-containers\/([a-f0-9]{64})\/userdata\//;
const MOUNT_KUBELET_POD = /\/pods\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(?:etc-hosts|containers\/|volumes\/)/;

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountinfo(s: string): string {
  return s.includes('\\') ? s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) : s;
}
