/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Typed fields: the typedef names tell user space how to enrich a field
 * (boot time to wall clock, cgroup id to container, errno to its name).
 */
#ifndef __MAXPRO_TYPES_H
#define __MAXPRO_TYPES_H

typedef __u64 maxpro_boot_ns;   /* bpf_ktime_get_boot_ns(); user space adds wall-clock time */
typedef __u64 maxpro_cgroup_id; /* cgroup v2 id; user space adds path, container and pod */
typedef __u32 maxpro_mntns_id;  /* mount namespace inode number */
typedef __u32 maxpro_pidns_id;  /* pid namespace inode number */
typedef __s32 maxpro_errno;     /* negative errno or 0; user space adds the name */

#define MAXPRO_COMM_LEN 16

#endif /* __MAXPRO_TYPES_H */
