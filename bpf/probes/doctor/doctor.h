/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Feature probes for `maxpro doctor`: no events, no shared structs. */
#ifndef __DOCTOR_H
#define __DOCTOR_H
#endif /* __DOCTOR_H */
