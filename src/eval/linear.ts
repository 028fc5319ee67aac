// Linear probe (REFERENCE §5): a 1×1 classifier (weights [C,D] and bias [C]) on frozen, L2-normalised
// pixel embeddings, trained by mini-batch SGD (momentum, weight decay, poly lr) on softmax cross-entropy
// with ignored pixels left out, then evaluated by mIoU with logits upsampled to the label size. The
// matrix products reuse the native matmul; the rest is TypeScript over Float32Arrays (pixels are
// sampled per image, so the problem stays small).
import { clips4Error, ErrorCodes } from '../errors';
import { integer, number, onlyKeys, optionsObject, opt } from '../validate';
import { matmul } from '../ops';
import { makeRng } from '../rng';
import { upsampleArgmax } from './davis';

export interface ProbeData {
  /** Embeddings [n, dim], row-major. */
  x: Float32Array;
  /** Class per row (rows labelled `ignore` are never used). */
  y: ArrayLike<number>;
  dim: number;
}

export interface LinearProbe {
  numClasses: number;
  dim: number;
  weight: Float32Array;
  bias: Float32Array;
}

export interface ProbeTraining {
  iterations?: number;
  /** Pixels per SGD step. */
  batch?: number;
  /** Base learning rate of the poly schedule (the paper's probe starts at 0.1). */
  lr?: number;
  power?: number;
  momentum?: number;
  weightDecay?: number;
  ignore?: number;
  seed?: number;
}

export const PROBE_DEFAULTS: Required<ProbeTraining> = { iterations: 2000, batch: 1024, lr: 0.1, power: 0.9, momentum: 0.9, weightDecay: 1e-4, ignore: 255, seed: 0 };

export function createProbe(numClasses: number, dim: number): LinearProbe {
  return { numClasses, dim, weight: new Float32Array(numClasses * dim), bias: new Float32Array(numClasses) };
}

/** The weights as [D, C], the right-hand side of the logits product X·Wᵀ. */
function transposedWeights(p: LinearProbe): Float32Array {
  const { numClasses: C, dim: D } = p;
  const wT = new Float32Array(D * C);
  for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) wT[d * C + c] = p.weight[c * D + d];
  return wT;
}

export interface SgdState {
  vw: Float32Array;
  vb: Float32Array;
}

export function sgdState(p: LinearProbe): SgdState {
  return { vw: new Float32Array(p.weight.length), vb: new Float32Array(p.bias.length) };
}

/**
 * One SGD step (PyTorch's convention: g += wd·w on the weights; v = m·v + g; w −= lr·v) on the mean
 * cross-entropy of the given rows; returns that loss (before the step). The two products (logits
 * X·Wᵀ and the weight gradient (P − Y)ᵀ·X) run natively; softmax and the update in TypeScript.
 */
export async function sgdStep(p: LinearProbe, s: SgdState, data: ProbeData, rows: ArrayLike<number>, lr: number, o: { momentum?: number; weightDecay?: number } = {}): Promise<number> {
  const { numClasses: C, dim: D } = p;
  const m = o.momentum ?? PROBE_DEFAULTS.momentum;
  const wd = o.weightDecay ?? PROBE_DEFAULTS.weightDecay;
  const B = rows.length;
  const xb = new Float32Array(B * D);
  for (let r = 0; r < B; r++) xb.set(data.x.subarray(rows[r] * D, (rows[r] + 1) * D), r * D);
  const wT = transposedWeights(p);
  const z = (await matmul({ dtype: 'float32', shape: [B, D], data: xb }, { dtype: 'float32', shape: [D, C], data: wT })).data;
  // Softmax per row in float64; G = (P − Y)ᵀ / B as [C, B] for the gradient product.
  const g = new Float32Array(C * B);
  const gb = new Float64Array(C);
  let loss = 0;
  const prob = new Float64Array(C);
  for (let r = 0; r < B; r++) {
    const y = data.y[rows[r]];
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, (prob[c] = z[r * C + c] + p.bias[c]));
    let sum = 0;
    for (let c = 0; c < C; c++) sum += prob[c] = Math.exp(prob[c] - max);
    loss -= Math.log(Math.max(prob[y] / sum, 1e-30));
    for (let c = 0; c < C; c++) {
      const v = (prob[c] / sum - (c === y ? 1 : 0)) / B;
      g[c * B + r] = v;
      gb[c] += v;
    }
  }
  const gw = (await matmul({ dtype: 'float32', shape: [C, B], data: g }, { dtype: 'float32', shape: [B, D], data: xb })).data;
  for (let k = 0; k < gw.length; k++) {
    s.vw[k] = m * s.vw[k] + gw[k] + wd * p.weight[k];
    p.weight[k] -= lr * s.vw[k];
  }
  for (let c = 0; c < C; c++) {
    s.vb[c] = m * s.vb[c] + gb[c];
    p.bias[c] -= lr * s.vb[c];
  }
  return loss / Math.max(B, 1);
}

/** Trains a probe on the labelled rows of `data`; `log` receives the loss now and then. */
export async function trainLinearProbe(data: ProbeData, numClasses: number, options: ProbeTraining = {}, log?: (iteration: number, loss: number) => void): Promise<LinearProbe> {
  const given = optionsObject('options', options);
  onlyKeys('options', given, Object.keys(PROBE_DEFAULTS));
  integer('numClasses', numClasses, 1, 256);
  const nonNegative = (n: string, v: unknown) => number(n, v, 0);
  const o: Required<ProbeTraining> = {
    iterations: opt(given, 'iterations', PROBE_DEFAULTS.iterations, (n, v) => integer(n, v, 1)),
    batch: opt(given, 'batch', PROBE_DEFAULTS.batch, (n, v) => integer(n, v, 1)),
    lr: opt(given, 'lr', PROBE_DEFAULTS.lr, (n, v) => number(n, v, 0)),
    power: opt(given, 'power', PROBE_DEFAULTS.power, nonNegative),
    momentum: opt(given, 'momentum', PROBE_DEFAULTS.momentum, (n, v) => number(n, v, 0, 1)),
    weightDecay: opt(given, 'weightDecay', PROBE_DEFAULTS.weightDecay, nonNegative),
    ignore: opt(given, 'ignore', PROBE_DEFAULTS.ignore, (n, v) => integer(n, v, 0, 255)),
    seed: opt(given, 'seed', PROBE_DEFAULTS.seed, (n, v) => integer(n, v, 0)),
  };
  if (data.x.length !== data.y.length * data.dim) throw clips4Error(ErrorCodes.shape, `Expected ${data.y.length} × ${data.dim} embedding values for data.x (one row per label) but received ${data.x.length}`, 'RangeError');
  const usable: number[] = [];
  for (let i = 0; i < data.y.length; i++) if (data.y[i] !== o.ignore && data.y[i] < numClasses) usable.push(i);
  const p = createProbe(numClasses, data.dim);
  if (usable.length === 0) return p;
  const s = sgdState(p);
  const r = makeRng(o.seed);
  const rows = new Int32Array(Math.min(o.batch, usable.length));
  for (let it = 0; it < o.iterations; it++) {
    for (let k = 0; k < rows.length; k++) rows[k] = usable[r.int(usable.length)];
    const lr = o.lr * Math.pow(1 - it / o.iterations, o.power);
    const loss = await sgdStep(p, s, data, rows, lr, o);
    if (log && (it % 100 === 0 || it === o.iterations - 1)) log(it, loss);
  }
  return p;
}

/** L2-normalises each cell of a feature map [D,h,w] into rows [h·w, D]. */
export function cellsAsRows(features: Float32Array, D: number, h: number, w: number): Float32Array {
  const out = new Float32Array(h * w * D);
  for (let c = 0; c < h * w; c++) {
    let n = 0;
    for (let d = 0; d < D; d++) n += features[d * h * w + c] ** 2;
    n = Math.sqrt(n) || 1;
    for (let d = 0; d < D; d++) out[c * D + d] = features[d * h * w + c] / n;
  }
  return out;
}

/** Class per pixel of a W×H image from its feature map [D,h,w]: logits per cell (native product), upsampled bilinearly, argmax. */
export async function probePredict(p: LinearProbe, features: Float32Array, h: number, w: number, W: number, H: number): Promise<Uint8Array> {
  const { numClasses: C, dim: D } = p;
  const hw = h * w;
  const wT = transposedWeights(p);
  const z = (await matmul({ dtype: 'float32', shape: [hw, D], data: cellsAsRows(features, D, h, w) }, { dtype: 'float32', shape: [D, C], data: wT })).data;
  const logits = new Float32Array(C * hw);
  for (let cell = 0; cell < hw; cell++) for (let c = 0; c < C; c++) logits[c * hw + cell] = z[cell * C + c] + p.bias[c];
  return upsampleArgmax(logits, C, w, h, W, H);
}

/**
 * Up to `count` labelled cells of one feature map [D,h,w] as probe rows (normalised embeddings, the
 * label under each cell's centre), chosen at random without repeats; cells on ignore are skipped.
 */
export function sampleCells(features: Float32Array, D: number, h: number, w: number, label: { data: ArrayLike<number>; width: number; height: number }, count: number, seed: number, ignore = 255): { x: Float32Array; y: Uint8Array } {
  const rows = cellsAsRows(features, D, h, w);
  const cells: number[] = [];
  const ys: number[] = [];
  for (let cy = 0; cy < h; cy++) {
    for (let cx = 0; cx < w; cx++) {
      const ly = Math.min(label.height - 1, Math.floor(((cy + 0.5) * label.height) / h));
      const lx = Math.min(label.width - 1, Math.floor(((cx + 0.5) * label.width) / w));
      const v = label.data[ly * label.width + lx];
      if (v === ignore) continue;
      cells.push(cy * w + cx);
      ys.push(v);
    }
  }
  const r = makeRng(seed);
  for (let i = cells.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [cells[i], cells[j]] = [cells[j], cells[i]];
    [ys[i], ys[j]] = [ys[j], ys[i]];
  }
  const n = Math.min(count, cells.length);
  const x = new Float32Array(n * D);
  for (let i = 0; i < n; i++) x.set(rows.subarray(cells[i] * D, cells[i] * D + D), i * D);
  return { x, y: Uint8Array.from(ys.slice(0, n)) };
}

/** Concatenates probe rows of several images. */
export function concatRows(parts: { x: Float32Array; y: Uint8Array }[], dim: number): ProbeData {
  const n = parts.reduce((a, p) => a + p.y.length, 0);
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    x.set(p.x, o * dim);
    y.set(p.y, o);
    o += p.y.length;
  }
  return { x, y, dim };
}
