// SPDX-License-Identifier: Apache-2.0
/**
 * A one-layer LSTM that predicts the next value of a series, on Float32Array.
 * Stateful and online: every row runs one forward step; every `bpttSteps`
 * rows the stored steps are back-propagated (truncated BPTT) and the weights
 * take one Adam step, at a higher rate while the series is young.
 * Deterministic: weights come from a seeded PRNG.
 */
import { mulberry32 } from '../lib/seeded-random.js';

export interface LstmPredictorOptions {
  hidden?: number;
  seed?: number;
  bpttSteps?: number;
  /** Rows trained at the higher learning rate. Default 750. */
  learnRows?: number;
  learningRate?: number;
}

export interface LstmPredictor {
  /** Feeds the input vector of one row (length = inputs); returns the prediction for the next row's target. */
  step(x: ArrayLike<number>): number;
  /** The target for the last stepped row (the next row's value), once known. */
  teach(target: number): void;
  readonly inputs: number;
}


export function createLstmPredictor(inputs: number, options: LstmPredictorOptions = {}): LstmPredictor {
  const H = options.hidden ?? 16;
  const K = options.bpttSteps ?? 8;
  const learnRows = options.learnRows ?? 750;
  const lr0 = options.learningRate ?? 0.01;
  const Z = inputs + H + 1; // [x, h_prev, 1]
  const G = 4 * H; // gates i, f, o, g
  const rand = mulberry32(options.seed ?? 1);
  const scale = 1 / Math.sqrt(H);
  // Parameters: W (G x Z), Wy (H), by; one flat array so Adam runs in one loop.
  const nW = G * Z;
  const P = nW + H + 1;
  const theta = new Float32Array(P);
  for (let i = 0; i < nW + H; i++) theta[i] = (rand() * 2 - 1) * scale;
  for (let j = 0; j < H; j++) theta[(H + j) * Z + Z - 1] = 1; // forget-gate bias
  const grad = new Float32Array(P);
  const m1 = new Float32Array(P);
  const m2 = new Float32Array(P);
  let adamT = 0;
  // Per-step caches for BPTT.
  const zs = new Float32Array((K + 1) * Z);
  const gates = new Float32Array((K + 1) * G);
  const cs = new Float32Array((K + 1) * H);
  const cPrev = new Float32Array((K + 1) * H);
  const hs = new Float32Array((K + 1) * H);
  const ys = new Float32Array(K + 1);
  const targets = new Float32Array(K + 1);
  let stored = 0; // steps in the cache
  let taught = 0; // of which have targets
  const h = new Float32Array(H);
  const c = new Float32Array(H);
  let rows = 0;

  // Back-propagation scratch, reused: nothing is allocated per row.
  const dhNext = new Float32Array(H);
  const dcNext = new Float32Array(H);
  const dz = new Float32Array(Z);
  const dpre = new Float64Array(4); // double, like the scalars it replaced

  const train = (): void => {
    grad.fill(0);
    dhNext.fill(0);
    dcNext.fill(0);
    for (let s = taught - 1; s >= 0; s--) {
      const dy = Math.max(-5, Math.min(5, ys[s]! - targets[s]!));
      grad[nW + H] = grad[nW + H]! + dy;
      const hOff = s * H;
      const gOff = s * G;
      const zOff = s * Z;
      dz.fill(0);
      for (let j = 0; j < H; j++) {
        grad[nW + j] = grad[nW + j]! + dy * hs[hOff + j]!;
        const dh = dy * theta[nW + j]! + dhNext[j]!;
        const ig = gates[gOff + j]!;
        const fg = gates[gOff + H + j]!;
        const og = gates[gOff + 2 * H + j]!;
        const gg = gates[gOff + 3 * H + j]!;
        const tc = Math.tanh(cs[hOff + j]!);
        const dc = dh * og * (1 - tc * tc) + dcNext[j]!;
        dpre[0] = dc * gg * ig * (1 - ig);
        dpre[1] = dc * cPrev[hOff + j]! * fg * (1 - fg);
        dpre[2] = dh * tc * og * (1 - og);
        dpre[3] = dc * ig * (1 - gg * gg);
        dcNext[j] = dc * fg;
        for (let q = 0; q < 4; q++) {
          const row = (q * H + j) * Z;
          const d = dpre[q]!;
          for (let k = 0; k < Z; k++) grad[row + k] = grad[row + k]! + d * zs[zOff + k]!;
          // Only the h_prev part of dz flows back (inputs and bias have no upstream).
          for (let k = inputs; k < inputs + H; k++) dz[k] = dz[k]! + d * theta[row + k]!;
        }
      }
      for (let j = 0; j < H; j++) dhNext[j] = dz[inputs + j]!;
    }
    let norm = 0;
    for (let i = 0; i < P; i++) norm += grad[i]! * grad[i]!;
    const clip = norm > 1 ? 1 / Math.sqrt(norm) : 1;
    adamT++;
    const lr = rows < learnRows ? lr0 : lr0 / 4;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** adamT;
    const c2 = 1 - b2 ** adamT;
    for (let i = 0; i < P; i++) {
      const g = grad[i]! * clip;
      m1[i] = b1 * m1[i]! + (1 - b1) * g;
      m2[i] = b2 * m2[i]! + (1 - b2) * g * g;
      theta[i] = theta[i]! - (lr * (m1[i]! / c1)) / (Math.sqrt(m2[i]! / c2) + 1e-8);
    }
  };

  return {
    inputs,
    step(x) {
      if (stored > K) {
        // Keep the last (untaught) step, drop the rest.
        const s = stored - 1;
        zs.copyWithin(0, s * Z, (s + 1) * Z);
        gates.copyWithin(0, s * G, (s + 1) * G);
        cs.copyWithin(0, s * H, (s + 1) * H);
        cPrev.copyWithin(0, s * H, (s + 1) * H);
        hs.copyWithin(0, s * H, (s + 1) * H);
        ys[0] = ys[s]!;
        stored = 1;
        taught = 0;
      }
      const s = stored;
      const zOff = s * Z;
      for (let k = 0; k < inputs; k++) zs[zOff + k] = Number.isFinite(x[k]!) ? Math.max(-10, Math.min(10, x[k]!)) : 0;
      for (let j = 0; j < H; j++) zs[zOff + inputs + j] = h[j]!;
      zs[zOff + Z - 1] = 1;
      const gOff = s * G;
      for (let r = 0; r < G; r++) {
        let a = 0;
        const row = r * Z;
        for (let k = 0; k < Z; k++) a += theta[row + k]! * zs[zOff + k]!;
        gates[gOff + r] = r < 3 * H ? 1 / (1 + Math.exp(-a)) : Math.tanh(a);
      }
      let y = theta[nW + H]!;
      for (let j = 0; j < H; j++) {
        cPrev[s * H + j] = c[j]!;
        c[j] = gates[gOff + H + j]! * c[j]! + gates[gOff + j]! * gates[gOff + 3 * H + j]!;
        h[j] = gates[gOff + 2 * H + j]! * Math.tanh(c[j]!);
        cs[s * H + j] = c[j]!;
        hs[s * H + j] = h[j]!;
        y += theta[nW + j]! * h[j]!;
      }
      ys[s] = y;
      stored++;
      rows++;
      return y;
    },
    teach(target) {
      if (taught >= stored) return;
      targets[taught] = target;
      taught++;
      if (taught >= K) {
        train();
        // The stored steps are consumed; the untaught newest one stays.
        const s = stored - 1;
        if (taught === stored) {
          stored = 0;
          taught = 0;
        } else {
          zs.copyWithin(0, s * Z, (s + 1) * Z);
          gates.copyWithin(0, s * G, (s + 1) * G);
          cs.copyWithin(0, s * H, (s + 1) * H);
          cPrev.copyWithin(0, s * H, (s + 1) * H);
          hs.copyWithin(0, s * H, (s + 1) * H);
          ys[0] = ys[s]!;
          stored = 1;
          taught = 0;
        }
      }
    },
  };
}
