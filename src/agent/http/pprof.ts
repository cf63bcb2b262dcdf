// SPDX-License-Identifier: Apache-2.0
/**
 * pprof profiles of the agent itself: V8's sampling CPU profiler and
 * sampling heap profiler (through node:inspector), converted to the pprof
 * protobuf with `pprof-format`. Serve the result gzipped, as Go's
 * /debug/pprof does.
 */
import { Session } from 'node:inspector/promises';
import type { Profiler, HeapProfiler } from 'node:inspector';
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';

type Frame = { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId: string };

class ProfileBuilder {
  readonly strings = new StringTable();
  readonly functions: PFunction[] = [];
  readonly locations: Location[] = [];
  private readonly fnIds = new Map<string, number>();
  private readonly locIds = new Map<string, number>();

  location(f: Frame): number {
    const key = `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
    const have = this.locIds.get(key);
    if (have) return have;
    const fkey = `${f.functionName}\u0000${f.url}`;
    let fid = this.fnIds.get(fkey);
    if (!fid) {
      fid = this.functions.length + 1;
      const name = this.strings.dedup(f.functionName || '(anonymous)');
      this.functions.push(new PFunction({ id: fid, name, systemName: name, filename: this.strings.dedup(f.url || '(native)') }));
      this.fnIds.set(fkey, fid);
    }
    const id = this.locations.length + 1;
    this.locations.push(new Location({ id, line: [new Line({ functionId: fid, line: f.lineNumber + 1 })] }));
    this.locIds.set(key, id);
    return id;
  }
}

/**
 * A CPU profile of `seconds` seconds, as gzipped pprof. When `signal`
 * aborts (the client left), the profiler stops at once and the promise
 * rejects with the signal's reason.
 */
export async function cpuProfile(seconds: number, intervalUs = 1000, signal?: AbortSignal): Promise<Buffer> {
  signal?.throwIfAborted();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    const t0 = Date.now();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, seconds * 1000);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const { profile } = await session.post('Profiler.stop') as Profiler.StopReturnType;
    return gzipSync(cpuToPprof(profile, t0, intervalUs).encode());
  } finally {
    session.disconnect();
  }
}

/** Converts a V8 CPU profile (samples count per node) to pprof. */
export function cpuToPprof(p: Profiler.Profile, startMs: number, intervalUs: number): Profile {
  const b = new ProfileBuilder();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples: Sample[] = [];
  for (const n of p.nodes) {
    if (!n.hitCount) continue;
    const stack: number[] = [];
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      if (node.callFrame.functionName === '(root)') break;
      stack.push(b.location(node.callFrame));
    }
    samples.push(new Sample({ locationId: stack, value: [n.hitCount, n.hitCount * intervalUs * 1000] }));
  }
  return new Profile({
    sampleType: [new ValueType({ type: b.strings.dedup('samples'), unit: b.strings.dedup('count') }), new ValueType({ type: b.strings.dedup('cpu'), unit: b.strings.dedup('nanoseconds') })],
    sample: samples, location: b.locations, function: b.functions, stringTable: b.strings,
    timeNanos: BigInt(startMs) * 1_000_000n, durationNanos: BigInt(Math.round((p.endTime - p.startTime) * 1000)),
    periodType: new ValueType({ type: b.strings.dedup('cpu'), unit: b.strings.dedup('nanoseconds') }), period: intervalUs * 1000,
  });
}

/** Converts a V8 sampling heap profile to pprof (inuse_space). */
export function heapToPprof(p: HeapProfiler.SamplingHeapProfile): Profile {
  const b = new ProfileBuilder();
  const samples: Sample[] = [];
  const walk = (n: HeapProfiler.SamplingHeapProfileNode, stack: number[]): void => {
    const here = n.callFrame.functionName === '(root)' ? stack : [b.location(n.callFrame), ...stack];
    if (n.selfSize > 0) samples.push(new Sample({ locationId: here, value: [n.selfSize] }));
    for (const c of n.children) walk(c, here);
  };
  walk(p.head, []);
  return new Profile({
    sampleType: [new ValueType({ type: b.strings.dedup('inuse_space'), unit: b.strings.dedup('bytes') })],
    sample: samples, location: b.locations, function: b.functions, stringTable: b.strings,
    timeNanos: BigInt(Date.now()) * 1_000_000n,
  });
}

export interface SamplingHeapProfiler {
  /** The current sampled heap, as gzipped pprof. */
  profile(): Promise<Buffer>;
  stop(): Promise<void>;
}

/** Starts V8's sampling heap profiler (one sample per `intervalBytes` allocated). */
export async function startHeapProfiler(intervalBytes = 512 * 1024): Promise<SamplingHeapProfiler> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: intervalBytes });
  let stopped = false;
  return {
    async profile() {
      const { profile } = await session.post('HeapProfiler.getSamplingProfile') as HeapProfiler.GetSamplingProfileReturnType;
      return gzipSync(heapToPprof(profile).encode());
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await session.post('HeapProfiler.stopSampling');
      } finally {
        session.disconnect();
      }
    },
  };
}
