// DAVIS-2017 semi-supervised evaluation: label propagation (CRW protocol, REFERENCE §5) and the
// region (J) / boundary (F) measures per object, averaged over objects and sequences.
import { matmul } from '../ops';

export interface FrameFeatures {
  /** L2-normalised features [D, h, w] (row-major per channel). */
  data: Float32Array;
  dim: number;
  height: number;
  width: number;
}

export interface PropagationOptions {
  /** Previous frames in the context besides the first (20). */
  context?: number;
  /** Neighbours kept per query (10). */
  topk?: number;
  temperature?: number;
  /** Spatial radius in feature cells (12). */
  radius?: number;
}

/** Soft one-hot labels [K, h, w] of a mask (object ids 0..K−1) averaged into feature cells. */
export function softLabels(mask: ArrayLike<number>, W: number, H: number, K: number, w: number, h: number): Float32Array {
  const out = new Float32Array(K * h * w);
  const count = new Float32Array(h * w);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = Math.min(h - 1, Math.floor((y * h) / H)) * w + Math.min(w - 1, Math.floor((x * w) / W));
      const k = mask[y * W + x];
      if (k < K) out[k * h * w + c]++;
      count[c]++;
    }
  }
  for (let k = 0; k < K; k++) for (let c = 0; c < h * w; c++) out[k * h * w + c] /= count[c] || 1;
  return out;
}

/** Cell-major copy [h·w, D] of a feature map [D, h, w], so that a block of rows is one contiguous run. */
function cellMajor(f: FrameFeatures): Float32Array {
  const { dim: D, height: h, width: w, data } = f;
  const hw = h * w;
  const out = new Float32Array(hw * D);
  for (let d = 0; d < D; d++) for (let c = 0; c < hw; c++) out[c * D + d] = data[d * hw + c];
  return out;
}

/**
 * Propagates the first frame's mask through the sequence; returns one label map per frame (frame 0 =
 * the given mask). Affinities are computed natively (matmul) per tile of query cells against the tile's
 * window (the tile grown by the radius) in each context frame; a running top-k per query keeps the
 * candidates in context-frame, then row-major order, so ties resolve as in a stable sort of that list.
 */
export async function propagateLabels(features: FrameFeatures[], firstMask: ArrayLike<number>, W: number, H: number, numObjects: number, o: PropagationOptions & { tile?: number } = {}): Promise<Uint8Array[]> {
  const ctxN = o.context ?? 20;
  const topk = o.topk ?? 10;
  const temp = o.temperature ?? 0.05;
  const radius = o.radius ?? 12;
  const T = o.tile ?? 8;
  const { dim: D, height: h, width: w } = features[0];
  const hw = h * w;
  const K = numObjects;
  const labels: Float32Array[] = [softLabels(firstMask, W, H, K, w, h)];
  const out: Uint8Array[] = [Uint8Array.from(firstMask as ArrayLike<number>)];
  const rows: Float32Array[] = [cellMajor(features[0])];
  const bestSim = new Float32Array(hw * topk);
  const bestRef = new Int32Array(hw * topk);
  const filled = new Int32Array(hw);
  for (let t = 1; t < features.length; t++) {
    rows[t] = cellMajor(features[t]);
    const ctx = [0, ...Array.from({ length: Math.min(ctxN, t - 1) }, (_, i) => t - 1 - i).filter((i) => i > 0)];
    filled.fill(0);
    for (let ty0 = 0; ty0 < h; ty0 += T) {
      for (let tx0 = 0; tx0 < w; tx0 += T) {
        const ty1 = Math.min(h, ty0 + T);
        const tx1 = Math.min(w, tx0 + T);
        const nq = (ty1 - ty0) * (tx1 - tx0);
        // Queries of the tile as columns [D, nq].
        const q = new Float32Array(D * nq);
        const qf = features[t].data;
        for (let d = 0; d < D; d++) for (let y = ty0; y < ty1; y++) q.set(qf.subarray(d * hw + y * w + tx0, d * hw + y * w + tx1), d * nq + (y - ty0) * (tx1 - tx0));
        const ry0 = Math.max(0, ty0 - radius);
        const ry1 = Math.min(h, ty1 + radius);
        const rx0 = Math.max(0, tx0 - radius);
        const rx1 = Math.min(w, tx1 + radius);
        const rw = rx1 - rx0;
        const nr = (ry1 - ry0) * rw;
        for (const [ci, f] of ctx.entries()) {
          // The window's cells as rows [nr, D]: one contiguous run per window row.
          const win = new Float32Array(nr * D);
          for (let y = ry0; y < ry1; y++) win.set(rows[f].subarray((y * w + rx0) * D, (y * w + rx1) * D), (y - ry0) * rw * D);
          const sims = (await matmul({ dtype: 'float32', shape: [nr, D], data: win }, { dtype: 'float32', shape: [D, nq], data: q })).data;
          for (let y = ty0; y < ty1; y++) {
            for (let x = tx0; x < tx1; x++) {
              const qi = (y - ty0) * (tx1 - tx0) + (x - tx0);
              const cell = y * w + x;
              const base = cell * topk;
              for (let yy = Math.max(ry0, y - radius); yy < Math.min(ry1, y + radius + 1); yy++) {
                for (let xx = Math.max(rx0, x - radius); xx < Math.min(rx1, x + radius + 1); xx++) {
                  if ((yy - y) ** 2 + (xx - x) ** 2 > radius * radius) continue;
                  const v = sims[((yy - ry0) * rw + (xx - rx0)) * nq + qi];
                  let n = filled[cell];
                  if (n === topk && v <= bestSim[base + topk - 1]) continue;
                  let j = n < topk ? n : topk - 1;
                  if (n < topk) filled[cell] = ++n;
                  // Insertion keeps earlier candidates ahead of equal later ones.
                  while (j > 0 && bestSim[base + j - 1] < v) {
                    bestSim[base + j] = bestSim[base + j - 1];
                    bestRef[base + j] = bestRef[base + j - 1];
                    j--;
                  }
                  bestSim[base + j] = v;
                  bestRef[base + j] = ci * hw + yy * w + xx;
                }
              }
            }
          }
        }
      }
    }
    const soft = new Float32Array(K * hw);
    for (let cell = 0; cell < hw; cell++) {
      const n = filled[cell];
      const base = cell * topk;
      const max = bestSim[base] / temp;
      let z = 0;
      for (let j = 0; j < n; j++) z += Math.exp(bestSim[base + j] / temp - max);
      for (let j = 0; j < n; j++) {
        const wt = Math.exp(bestSim[base + j] / temp - max) / z;
        const ref = bestRef[base + j];
        const lab = labels[ctx[Math.floor(ref / hw)]];
        const src = ref % hw;
        for (let k = 0; k < K; k++) soft[k * hw + cell] += wt * lab[k * hw + src];
      }
    }
    labels[t] = soft;
    out.push(upsampleArgmax(soft, K, w, h, W, H));
  }
  return out;
}

/** Bilinearly upsamples per-class maps [K,h,w] to W×H and takes the argmax per pixel. */
export function upsampleArgmax(soft: Float32Array, K: number, w: number, h: number, W: number, H: number): Uint8Array {
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const fy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
    const y1 = Math.floor(fy);
    const y2 = Math.min(h - 1, y1 + 1);
    const ty = fy - y1;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / W - 0.5));
      const x1 = Math.floor(fx);
      const x2 = Math.min(w - 1, x1 + 1);
      const tx = fx - x1;
      let best = 0;
      let bv = -Infinity;
      for (let k = 0; k < K; k++) {
        const b = k * h * w;
        const v = (soft[b + y1 * w + x1] * (1 - tx) + soft[b + y1 * w + x2] * tx) * (1 - ty) + (soft[b + y2 * w + x1] * (1 - tx) + soft[b + y2 * w + x2] * tx) * ty;
        if (v > bv) {
          bv = v;
          best = k;
        }
      }
      out[y * W + x] = best;
    }
  }
  return out;
}

/** Region similarity J (IoU) of one object; 1 when both masks are empty. */
export function jaccard(pred: ArrayLike<number>, gt: ArrayLike<number>, obj: number): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < gt.length; i++) {
    const a = pred[i] === obj;
    const b = gt[i] === obj;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union === 0 ? 1 : inter / union;
}

function boundary(mask: ArrayLike<number>, obj: number, W: number, H: number): Uint8Array {
  const b = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = mask[y * W + x] === obj;
      if (!v) continue;
      const right = x + 1 < W ? mask[y * W + x + 1] === obj : false;
      const down = y + 1 < H ? mask[(y + 1) * W + x] === obj : false;
      const left = x > 0 ? mask[y * W + x - 1] === obj : false;
      const up = y > 0 ? mask[(y - 1) * W + x] === obj : false;
      if (!right || !down || !left || !up) b[y * W + x] = 1;
    }
  }
  return b;
}

function dilate(b: Uint8Array, W: number, H: number, r: number): Uint8Array {
  const out = new Uint8Array(W * H);
  const offs: [number, number][] = [];
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r) offs.push([dx, dy]);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!b[y * W + x]) continue;
      for (const [dx, dy] of offs) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx >= 0 && yy >= 0 && xx < W && yy < H) out[yy * W + xx] = 1;
      }
    }
  }
  return out;
}

/** Boundary F-measure of one object with a tolerance of `bound` × the image diagonal (0.008). */
export function boundaryF(pred: ArrayLike<number>, gt: ArrayLike<number>, obj: number, W: number, H: number, bound = 0.008): number {
  const r = Math.ceil(bound * Math.hypot(W, H));
  const bp = boundary(pred, obj, W, H);
  const bg = boundary(gt, obj, W, H);
  let np = 0;
  let ng = 0;
  for (let i = 0; i < bp.length; i++) {
    np += bp[i];
    ng += bg[i];
  }
  if (np === 0 && ng === 0) return 1;
  if (np === 0 || ng === 0) return 0;
  const dg = dilate(bg, W, H, r);
  const dp = dilate(bp, W, H, r);
  let matchP = 0;
  let matchG = 0;
  for (let i = 0; i < bp.length; i++) {
    if (bp[i] && dg[i]) matchP++;
    if (bg[i] && dp[i]) matchG++;
  }
  const precision = matchP / np;
  const recall = matchG / ng;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

export interface DavisScore {
  J: number;
  F: number;
  JF: number;
  perSequence: Record<string, { J: number; F: number }>;
}

/** Mean J and F over objects per sequence (frames after the first), then over sequences. */
export function davisScores(sequences: { name: string; pred: ArrayLike<number>[]; gt: ArrayLike<number>[]; width: number; height: number }[]): DavisScore {
  const perSequence: Record<string, { J: number; F: number }> = {};
  for (const s of sequences) {
    const objects = new Set<number>();
    for (const g of s.gt) for (let i = 0; i < g.length; i++) if (g[i] !== 0 && g[i] !== 255) objects.add(g[i]);
    let J = 0;
    let F = 0;
    for (const obj of objects) {
      let j = 0;
      let f = 0;
      for (let t = 1; t < s.gt.length; t++) {
        j += jaccard(s.pred[t], s.gt[t], obj);
        f += boundaryF(s.pred[t], s.gt[t], obj, s.width, s.height);
      }
      J += j / (s.gt.length - 1);
      F += f / (s.gt.length - 1);
    }
    perSequence[s.name] = { J: J / objects.size, F: F / objects.size };
  }
  const names = Object.keys(perSequence);
  const J = names.reduce((a, n) => a + perSequence[n].J, 0) / names.length;
  const F = names.reduce((a, n) => a + perSequence[n].F, 0) / names.length;
  return { J, F, JF: (J + F) / 2, perSequence };
}
