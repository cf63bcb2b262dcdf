// SPDX-License-Identifier: Apache-2.0
/** errno names for the eBPF layer: the shared table of src/lib/errno.ts. */
export { errno, errnoName } from '../lib/errno.js';
