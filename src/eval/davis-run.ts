// DAVIS evaluation runs: frame features from raw colour or a dense encoder, label propagation of
// the first mask through each sequence, scored against the trivial baseline (the first mask copied).
import * as fs from 'node:fs';
import type { DavisSequence } from '../data/datasets';
import { loadImage } from '../image/load';
import { normalizeImages, type Normalization } from '../image/normalize';
import { resizeKeepAspect } from '../image/resize';
import { decodeIndexedPng } from '../io/png';
import type { Tensor } from '../tensor';
import { davisScores, propagateLabels, type DavisScore, type FrameFeatures, type PropagationOptions } from './davis';

/** Features of one frame plus the frame's own size. */
export type FrameEncoder = (file: string) => Promise<FrameFeatures & { W: number; H: number }>;

function normaliseCells(data: Float32Array, D: number, cells: number): Float32Array {
  for (let p = 0; p < cells; p++) {
    let n = 0;
    for (let d = 0; d < D; d++) n += data[d * cells + p] ** 2;
    n = Math.sqrt(n) || 1;
    for (let d = 0; d < D; d++) data[d * cells + p] /= n;
  }
  return data;
}

/** Raw-colour features: the mean RGB of each cell×cell block, centred, L2-normalised (a baseline needing no model). */
export async function colourFeatures(file: string, cell: number): Promise<FrameFeatures & { W: number; H: number }> {
  const img = await loadImage(file);
  const w = Math.floor(img.width / cell);
  const h = Math.floor(img.height / cell);
  const D = 3;
  const data = new Float32Array(D * h * w);
  for (let y = 0; y < h * cell; y++) for (let x = 0; x < w * cell; x++) for (let c = 0; c < 3; c++) data[c * h * w + Math.floor(y / cell) * w + Math.floor(x / cell)] += img.data[(y * img.width + x) * 3 + c] / (cell * cell * 255) - 0.45 / (cell * cell);
  return { data: normaliseCells(data, D, h * w), dim: D, height: h, width: w, W: img.width, H: img.height };
}

/** Frames through a dense encoder (CLIP or a CLIP-S4 embedder) at shorter side `size`. */
export function denseFrameEncoder(encode: (x: Tensor<'float32'>) => Promise<Tensor<'float32'>>, o: { size: number; multipleOf: number; norm: Normalization }): FrameEncoder {
  return async (file) => {
    const img = await loadImage(file);
    const resized = await resizeKeepAspect(img, { shorter: o.size, multipleOf: o.multipleOf });
    const f = await encode(normalizeImages([resized], o.norm));
    const [, D, h, w] = f.shape;
    return { data: normaliseCells(Float32Array.from(f.data), D, h * w), dim: D, height: h, width: w, W: img.width, H: img.height };
  };
}

export interface DavisRun {
  scores: DavisScore;
  baseline: DavisScore;
  /** Per sequence: frame names and propagated masks (object ids). */
  predictions: { name: string; frames: string[]; masks: Uint8Array[]; gt: ArrayLike<number>[]; width: number; height: number }[];
}

/** Propagates each sequence's first mask (the first `frames` frames, all by default) and scores it and the copy baseline. */
export async function runDavis(seqs: DavisSequence[], encoder: FrameEncoder, o: PropagationOptions & { frames?: number; log?: (line: string) => void } = {}): Promise<DavisRun> {
  const predictions: DavisRun['predictions'] = [];
  for (const s of seqs) {
    const n = Math.min(o.frames ?? s.frames.length, s.frames.length, s.annotations.length);
    const gt = s.annotations.slice(0, n).map((f) => decodeIndexedPng(fs.readFileSync(f), f).data);
    const feats = [];
    for (const f of s.frames.slice(0, n)) feats.push(await encoder(f));
    const { W, H } = feats[0];
    let K = 0;
    for (const v of gt[0]) if (v !== 255 && v + 1 > K) K = v + 1;
    const first = Uint8Array.from(gt[0], (v) => (v === 255 ? 0 : v));
    const masks = await propagateLabels(feats, first, W, H, Math.max(K, 1), o);
    predictions.push({ name: s.name, frames: s.annotations.slice(0, n), masks, gt, width: W, height: H });
    o.log?.(`${s.name}: ${n} frames propagated`);
  }
  const scores = davisScores(predictions.map((p) => ({ name: p.name, pred: p.masks, gt: p.gt, width: p.width, height: p.height })));
  const baseline = davisScores(predictions.map((p) => ({ name: p.name, pred: p.gt.map(() => p.gt[0]), gt: p.gt, width: p.width, height: p.height })));
  return { scores, baseline, predictions };
}
