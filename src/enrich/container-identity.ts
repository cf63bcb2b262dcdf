// SPDX-License-Identifier: Apache-2.0
/**
 * From a cgroup path to the workload that owns it: container runtime,
 * container id and pod UID. Pure functions over strings, so every rule is
 * testable without root. Recognises containerd (also `cri-containerd` forms),
 * CRI-O, docker and podman, under the systemd and cgroupfs drivers, plus
 * systemd services, LXC and Talos system services.
 */

/**
 * The class of a cgroup. The names follow one widely used node agent's
 * conventions: Kubernetes cgroupfs paths whose runtime cannot be told from
 * the path are classed `docker`, a container scope directly under
 * system.slice without a pod is a `standalone_process`.
 */
export type CgroupKind =
  | 'docker' | 'containerd' | 'crio' | 'podman' | 'lxc' | 'talos_runtime'
  | 'systemd_service' | 'sandbox' | 'standalone_process' | 'unknown';

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

const HEX64 = /([a-f0-9]{64})/;
const CRIO_ID = /crio-([a-f0-9]{64})/;
const CONTAINERD_ID = /cri-containerd[-:]([a-f0-9]{64})/;
const PODMAN_ID = /libpod-([a-f0-9]{64})/;
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
  const unit = SYSTEMD_UNIT.exec(path);
  if (unit) return { kind: 'systemd_service', id: unescapeSystemd(unit[1]!) };
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

/**
 * The cgroup path that identifies a process, from the text of
 * `/proc/<pid>/cgroup`. On v1 and hybrid hosts the `name=systemd` hierarchy
 * wins (it follows the service or container even when controllers sit at the
 * root); otherwise the v2 (`0::`) line. A relative path, seen from inside a
 * cgroup namespace, is resolved against `base`. An LXC payload is reduced to
 * its container. Returns undefined when every line is at the root.
 */
export function cgroupPathFromProcFile(content: string, base = '/'): string | undefined {
  let systemd: string | undefined;
  let unified: string | undefined;
  for (const line of content.split('\n')) {
    const i = line.indexOf(':');
    const j = line.indexOf(':', i + 1);
    if (i < 0 || j < 0) continue;
    const controllers = line.slice(i + 1, j);
    const raw = line.slice(j + 1).trim();
    const p = normalise(raw.startsWith('/') && !raw.startsWith('/..') ? raw : `${base}/${raw}`);
    if (p === '/') continue;
    if (controllers.split(',').includes('name=systemd')) systemd = p;
    else if (controllers === '') unified = p;
  }
  const id = systemd ?? unified;
  if (id === undefined) return undefined;
  const lxc = /^\/lxc\.payload\.[^/]+/.exec(id);
  return lxc ? lxc[0] : id;
}
