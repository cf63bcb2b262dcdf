// SPDX-License-Identifier: Apache-2.0
/**
 * The typed eBPF layer: the only importer of the native addon. Open an
 * ObjectSpec (pure, no kernel), configure it, `load()` it into a BpfObject,
 * attach programs (Links), use maps, and read ring buffers in batches.
 */
export { openObject, openObjectFile } from './object-spec.js';
export type { OpenFileOptions, OpenOptions } from './object-spec.js';
export { readVerifiedObject } from './object-verifier.js';
export { configureObjectTrust, loadTrustedKeys, objectTrustPolicy } from './object-trust.js';
export type { ObjectTrustPolicy } from './object-trust.js';
export { lastVerificationFailure, loadedObjects, pinnedProgramChecks, recordPinnedCheck, verificationFailures } from './object-attestation.js';
export type { ObjectAttestation } from './object-attestation.js';
export type { ObjectSpec, ConstantValue, LoadOptions } from './object-spec.js';
export type { BpfObject } from './bpf-object.js';
export type { Program, ProgramIdentity, UprobeTarget, TcTarget, ProgramStats } from './program.js';
export type { Link } from './link.js';
export { openPinnedLink } from './link.js';
export { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from './bpf-map.js';
export type { BpfMap } from './bpf-map.js';
export { createRingBufferReader } from './ringbuf-reader.js';
export type { RingBufferReader, RingBufferReaderOptions, RingBufferReaderStats } from './ringbuf-reader.js';
export { forEachRecord, RECORD_HEADER_BYTES } from './event-batch.js';
export type { EventBatch } from './event-batch.js';
export { createEventDispatcher } from './event-dispatcher.js';
export type { EventDispatcher, EventDispatcherOptions, KindDecoder, DispatcherStats, SkipReason } from './event-dispatcher.js';
export { defineLayout, EVENT_HEADER, readCString } from './event-layout.js';
export { createCommInterner, readU64 } from './comm-interner.js';
export type { CommInterner } from './comm-interner.js';
export type { EventLayout, FieldLayout } from './event-layout.js';
export { readDropCounts, totalDrops, readErrorCounts, DROP_REASONS } from './drop-counters.js';
export type { DropReason, BpfErrorCount } from './drop-counters.js';
export { haveProgramType, haveMapType, haveHelper, kernelEnum, tracepointArgCount, requireFeature, BPF_FUNC } from './features.js';
export type { FeatureResult } from './features.js';
export { CAP, effectiveCaps, missingCapability } from './capabilities.js';
export type { CapName } from './capabilities.js';
export { tracefsState, TRACEFS_DIRS } from './tracefs.js';
export type { TracefsState } from './tracefs.js';
export { enableBpfStats } from './bpf-stats.js';
export type { BpfStatsHandle } from './bpf-stats.js';
export { DEFAULT_PIN_DIR, ensurePinDir, isOnBpffs, openPinned, pinnedProgramIdentity, removePinned, unpin } from './pin.js';
export { bpfObjectDir, bpfObjectPath } from './object-path.js';
export { native, repoRoot } from './native.js';
export { libbpfVersion } from './library-version.js';
export { setLibbpfLogHandler } from './libbpf-log.js';
export type { LibbpfLogLevel } from './libbpf-log.js';
export type { NativePerfEventAttr } from './native.js';
export { errnoName } from './errno.js';
export {
  VerifierError, NotSupportedError, PermissionError, ClosedError, SyscallError, AttachError, NativeMissingError, LayoutError, NotFoundError,
  InvalidArgumentError, TracefsError, ObjectVerificationError,
} from '../lib/errors.js';
