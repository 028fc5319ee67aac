// The CLIP-S4 kernels exposed for tests, benchmarks and research (validated here, run natively).
import { call, native } from '../native';
import { checkTensor, type Tensor } from '../tensor';
import { integer, number, oneOf, optionsObject, onlyKeys, opt, string } from '../validate';

export interface KernelsBinding {
  sphericalKMeans(emb: Tensor, options: { grid: number[]; iterations: number; locationWeight: number; ignore?: Tensor; device: string }): Promise<{ labels: Tensor<'int32'>; centroids: Tensor<'float32'> }>;
  splitByRegion(labels: Tensor, regions: Tensor): Promise<{ segments: Tensor<'int32'>; count: number }>;
  segmentMeans(features: Tensor, segments: Tensor): Promise<{ means: Tensor<'float32'>; image: Tensor<'int32'> }>;
  pixelSegmentLoss(o: Record<string, unknown>): Promise<{ loss: number; gradEmbeddings: Tensor<'float32'>; gradSegments: Tensor<'float32'> }>;
}

/** Spherical k-means per image on [embedding, location]; ignored pixels get −1. */
export async function sphericalKMeans(emb: Tensor<'float32'>, options: { grid?: [number, number]; iterations?: number; locationWeight?: number; ignore?: Tensor<'uint8'>; device?: string } = {}) {
  const dims = checkTensor('emb', emb, { dtype: 'float32', shape: ['B', 'D', 'H', 'W'] });
  const o = optionsObject('options', options);
  onlyKeys('options', o, ['grid', 'iterations', 'locationWeight', 'ignore', 'device']);
  const grid = (o.grid as number[] | undefined) ?? [6, 6];
  integer('options.grid[0]', grid[0], 1, dims.H);
  integer('options.grid[1]', grid[1], 1, dims.W);
  if (o.ignore !== undefined) checkTensor('options.ignore', o.ignore, { dtype: 'uint8', shape: ['B', 'H', 'W'] }, dims);
  return call(() =>
    native().kernels.sphericalKMeans(emb, {
      grid,
      iterations: opt(o, 'iterations', 10, (n, v) => integer(n, v, 0, 10000)),
      locationWeight: opt(o, 'locationWeight', 1, (n, v) => number(n, v, 0)),
      ignore: o.ignore as Tensor | undefined,
      device: opt(o, 'device', 'cpu', string),
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
export async function pixelSegmentLoss(o: { embeddings: Tensor<'float32'>; pixelGroup: Tensor<'int64'>; pixelSegment: Tensor<'int64'>; segments: Tensor<'float32'>; segmentGroup: Tensor<'int64'>; bank?: Tensor<'float32'>; kappa?: number; impl?: 'tiled' | 'naive'; tile?: number }) {
  const dims = checkTensor('embeddings', o.embeddings, { dtype: 'float32', shape: ['N', 'D'] });
  checkTensor('pixelGroup', o.pixelGroup, { dtype: 'int64', shape: ['N'] }, dims);
  checkTensor('pixelSegment', o.pixelSegment, { dtype: 'int64', shape: ['N'] }, dims);
  checkTensor('segments', o.segments, { dtype: 'float32', shape: ['P', 'D'] }, dims);
  checkTensor('segmentGroup', o.segmentGroup, { dtype: 'int64', shape: ['P'] }, dims);
  if (o.bank) checkTensor('bank', o.bank, { dtype: 'float32', shape: ['M', 'D'] }, dims);
  const impl = oneOf('impl', o.impl ?? 'tiled', ['tiled', 'naive'] as const);
  const tile = integer('tile', o.tile ?? 4096, 1);
  return call(() => native().kernels.pixelSegmentLoss({ ...o, kappa: number('kappa', o.kappa ?? 10, 1e-6), impl, tile }));
}
