// The CLIP-S4 kernels exposed for tests, benchmarks and research (validated here, run natively).
// What is a training setting (grid, iterations, κ, temperature, m, logit scale) has no default here:
// the caller passes it (the trainer from src/train/schema.ts), so each value is declared once. Only
// implementation choices (device, impl, tile) default.
import type { BankHandle } from '../binding';
import { call, native } from '../native';

export type { BankHandle, KernelsBinding } from '../binding';
import { checkTensor, type Tensor } from '../tensor';
import { invalidParameter } from '../errors';
import { integer, number, oneOf, optionsObject, onlyKeys, opt, string } from '../validate';



/** Spherical k-means per image on [embedding, location]; ignored pixels get −1. */
export async function sphericalKMeans(emb: Tensor<'float32'>, options: { grid: [number, number]; iterations: number; locationWeight: number; ignore?: Tensor<'uint8'>; device?: string; impl?: 'batched' | 'perImage' }) {
  const dims = checkTensor('emb', emb, { dtype: 'float32', shape: ['B', 'D', 'H', 'W'] });
  const o = optionsObject('options', options);
  onlyKeys('options', o, ['grid', 'iterations', 'locationWeight', 'ignore', 'device', 'impl']);
  if (!Array.isArray(o.grid) || o.grid.length !== 2) throw invalidParameter('options.grid', '[gy, gx]', o.grid);
  const grid = o.grid as number[];
  integer('options.grid[0]', grid[0], 1, dims.H);
  integer('options.grid[1]', grid[1], 1, dims.W);
  if (o.ignore !== undefined) checkTensor('options.ignore', o.ignore, { dtype: 'uint8', shape: ['B', 'H', 'W'] }, dims);
  return call(() =>
    native().kernels.sphericalKMeans(emb, {
      grid,
      iterations: integer('options.iterations', o.iterations, 0, 10000),
      locationWeight: number('options.locationWeight', o.locationWeight, 0),
      ignore: o.ignore as Tensor | undefined,
      device: opt(o, 'device', 'cpu', string),
      impl: opt(o, 'impl', 'batched', (n, v) => oneOf(n, v, ['batched', 'perImage'] as const)),
    }),
  );
}

/** Each (cluster, region) pair becomes its own segment; ids are global over the batch. */
export async function splitByRegion(labels: Tensor<'int32'>, regions: Tensor<'int32'>) {
  const dims = checkTensor('labels', labels, { dtype: 'int32', shape: ['B', 'H', 'W'] });
  checkTensor('regions', regions, { dtype: 'int32', shape: ['B', 'H', 'W'] }, dims);
  return call(() => native().kernels.splitByRegion(labels, regions));
}

/** Normalised mean feature per segment (features and segments at the same resolution). */
export async function segmentMeans(features: Tensor<'float32'>, segments: Tensor<'int32'>) {
  const dims = checkTensor('features', features, { dtype: 'float32', shape: ['B', 'C', 'H', 'W'] });
  checkTensor('segments', segments, { dtype: 'int32', shape: ['B', 'H', 'W'] }, dims);
  return call(() => native().kernels.segmentMeans(features, segments));
}

/** The pixel-segment contrastive loss L_t with its gradients. */
export async function pixelSegmentLoss(o: { embeddings: Tensor<'float32'>; pixelGroup: Tensor<'int64'>; pixelSegment: Tensor<'int64'>; segments: Tensor<'float32'>; segmentGroup: Tensor<'int64'>; bank?: Tensor<'float32'>; kappa: number; impl?: 'tiled' | 'naive'; tile?: number }) {
  const dims = checkTensor('embeddings', o.embeddings, { dtype: 'float32', shape: ['N', 'D'] });
  checkTensor('pixelGroup', o.pixelGroup, { dtype: 'int64', shape: ['N'] }, dims);
  checkTensor('pixelSegment', o.pixelSegment, { dtype: 'int64', shape: ['N'] }, dims);
  checkTensor('segments', o.segments, { dtype: 'float32', shape: ['P', 'D'] }, dims);
  checkTensor('segmentGroup', o.segmentGroup, { dtype: 'int64', shape: ['P'] }, dims);
  if (o.bank) checkTensor('bank', o.bank, { dtype: 'float32', shape: ['M', 'D'] }, dims);
  // Each pixel's own segment is a row of `segments` (the kernel reads its similarity by index).
  const bad = (o.pixelSegment.data as BigInt64Array).findIndex((s) => s < 0n || s >= BigInt(dims.P));
  if (bad >= 0) throw invalidParameter(`pixelSegment[${bad}]`, `a segment index in [0, ${dims.P})`, Number(o.pixelSegment.data[bad]));
  const impl = oneOf('impl', o.impl ?? 'tiled', ['tiled', 'naive'] as const);
  const tile = integer('tile', o.tile ?? 4096, 1);
  return call(() => native().kernels.pixelSegmentLoss({ ...o, kappa: number('kappa', o.kappa, 1e-6), impl, tile }));
}

/** L_e (paper eq. 2): mean over segments of 1 − cos(v_s, i_s), with its gradient w.r.t. the segments. */
export async function embeddingLoss(o: { segments: Tensor<'float32'>; clipSegments: Tensor<'float32'> }) {
  const x = optionsObject('options', o);
  onlyKeys('options', x, ['segments', 'clipSegments']);
  const dims = checkTensor('segments', o.segments, { dtype: 'float32', shape: ['P', 'D'] });
  checkTensor('clipSegments', o.clipSegments, { dtype: 'float32', shape: ['P', 'D'] }, dims);
  return call(() => native().kernels.embeddingLoss({ segments: o.segments, clipSegments: o.clipSegments }));
}

/**
 * L_s (paper eq. 3): pseudo-labels y_s = argmax_l cos(i_s, c_l), then the mean cross-entropy of
 * softmax(cos(v_s, C) / temperature) against them; returns the labels and the segments' gradient.
 */
export async function semanticLoss(o: { segments: Tensor<'float32'>; clipSegments: Tensor<'float32'>; prototypes: Tensor<'float32'>; temperature: number }) {
  const x = optionsObject('options', o);
  onlyKeys('options', x, ['segments', 'clipSegments', 'prototypes', 'temperature']);
  const dims = checkTensor('segments', o.segments, { dtype: 'float32', shape: ['P', 'D'] });
  checkTensor('clipSegments', o.clipSegments, { dtype: 'float32', shape: ['P', 'D'] }, dims);
  checkTensor('prototypes', o.prototypes, { dtype: 'float32', shape: ['L', 'D'] }, dims);
  if (dims.L < 1) throw invalidParameter('prototypes', 'at least one prototype row', '[0, D]');
  const temperature = number('options.temperature', x.temperature, 1e-6);
  return call(() => native().kernels.semanticLoss({ segments: o.segments, clipSegments: o.clipSegments, prototypes: o.prototypes, temperature }));
}

/**
 * L_u (paper eq. 4): for the segments whose label is an unknown prototype (label ≥ known), the mean
 * of 1 − cos(c_u, i_s); returns its gradient w.r.t. the unknown prototypes and how many segments.
 */
export async function unknownPrototypeLoss(o: { unknown: Tensor<'float32'>; clipSegments: Tensor<'float32'>; labels: Tensor<'int32'>; known: number }) {
  const x = optionsObject('options', o);
  onlyKeys('options', x, ['unknown', 'clipSegments', 'labels', 'known']);
  const dims = checkTensor('unknown', o.unknown, { dtype: 'float32', shape: ['U', 'D'] });
  checkTensor('clipSegments', o.clipSegments, { dtype: 'float32', shape: ['P', 'D'] }, dims);
  checkTensor('labels', o.labels, { dtype: 'int32', shape: ['P'] }, dims);
  const known = integer('known', o.known, 0);
  const limit = known + dims.U;
  const bad = (o.labels.data as Int32Array).findIndex((l) => l < 0 || l >= limit);
  if (bad >= 0) throw invalidParameter(`labels[${bad}]`, `a prototype index in [0, ${limit}) (known + unknown.shape[0])`, o.labels.data[bad]);
  return call(() => native().kernels.unknownPrototypeLoss({ unknown: o.unknown, clipSegments: o.clipSegments, labels: o.labels, known }));
}

/**
 * Known-class prototypes (paper Fig. 3b): softmax over classes of logitScale·cos(i_s, t_k) for every
 * CLIP segment embedding, then per class the normalised mean of its top-m segments.
 */
export async function knownPrototypes(clipSegments: Tensor<'float32'>, text: Tensor<'float32'>, options: { m: number; logitScale: number }) {
  const o = prototypeOptions(clipSegments, text, options);
  return call(() => native().kernels.knownPrototypes(clipSegments, text, o));
}

/** The checks of both prototype kernels; the scale has no default: it belongs to the CLIP whose segments and text these are (Clip.logitScale). */
function prototypeOptions(clipSegments: Tensor<'float32'>, text: Tensor<'float32'>, options: { m: number; logitScale: number }) {
  const dims = checkTensor('clipSegments', clipSegments, { dtype: 'float32', shape: ['S', 'E'] });
  checkTensor('text', text, { dtype: 'float32', shape: ['K', 'E'] }, dims);
  if (dims.S < 1) throw invalidParameter('clipSegments', 'at least one segment', '[0, E]');
  const o = optionsObject('options', options);
  onlyKeys('options', o, ['m', 'logitScale']);
  return { m: integer('options.m', o.m, 1), logitScale: number('options.logitScale', o.logitScale, 0) };
}

/**
 * The rows of `clipSegments` that `knownPrototypes` averages: [K, min(m, S)] int32, each class's
 * best first. A class's top-m over all segments is its top-m over the union of each chunk's top-m:
 * the prototypes of a dataset can be built from a stream of segments (train/prepare.ts).
 */
export async function knownPrototypeSegments(clipSegments: Tensor<'float32'>, text: Tensor<'float32'>, options: { m: number; logitScale: number }) {
  const o = prototypeOptions(clipSegments, text, options);
  return call(() => native().kernels.knownPrototypeSegments(clipSegments, text, o));
}

/** The FIFO memory bank of the last `batches` batches' segment embeddings (negatives of L_t). */
export class MemoryBank {
  private readonly handle: BankHandle;
  private dim = -1;

  constructor(readonly batches = 2) {
    integer('batches', batches, 0);
    this.handle = native().kernels.bankCreate(batches);
  }

  /** Stores one batch's segment embeddings [P,D] (copied), dropping the oldest beyond `batches`. */
  push(segments: Tensor<'float32'>): void {
    const dims = checkTensor('segments', segments, { dtype: 'float32', shape: ['P', 'D'] }, this.dim < 0 ? {} : { D: this.dim });
    native().kernels.bankPush(this.handle, segments);
    this.dim = dims.D;
  }

  /** Every stored row, oldest batch first: [M,D] (M = 0 when empty). */
  all(dim = this.dim < 0 ? 0 : this.dim): Tensor<'float32'> {
    return native().kernels.bankAll(this.handle, dim);
  }
}
