// Unsupervised segments of dense embeddings (SegSort protocol, REFERENCE §5): spherical k-means per
// image, each segment's normalised mean embedding, and the segment map at label resolution. Shared
// by the k-NN evaluation (real datasets and the synthetic world) and segment retrieval.
import { segmentMeans, sphericalKMeans } from '../kernels';
import type { Tensor } from '../tensor';
import { readLabel, type Dataset } from '../data/datasets';
import { SegmentBank, type SegmentedImage } from './knn';
import { ConfusionMatrix } from './metrics';
import { clips4Error, ErrorCodes } from '../errors';

export interface LabelGrid {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

/** k-means for the k-NN protocol (supplement §Inference): 36 segments per image, 20 iterations. */
export const KNN_KMEANS = { grid: [6, 6] as [number, number], iterations: 20, locationWeight: 1 };

/** The k-means grid clamped to the feature map (a 6×6 grid needs at least 6×6 cells). */
export function clampGrid(grid: [number, number], h: number, w: number): [number, number] {
  return [Math.max(1, Math.min(grid[0], h)), Math.max(1, Math.min(grid[1], w))];
}

/**
 * Segments a batch of feature maps [n,D,h,w] by k-means (grid[0]·grid[1] clusters per image) and
 * returns, per image, the segment map at its label resolution (nearest cell) with segment ids local
 * to the image, and the segments' normalised mean embeddings.
 */
export async function kmeansSegments(features: Tensor<'float32'>, sizes: LabelGrid[] | { width: number; height: number }[], options: { grid?: [number, number]; iterations?: number } = {}): Promise<SegmentedImage[]> {
  const [n, D, h, w] = features.shape;
  const grid = clampGrid(options.grid ?? KNN_KMEANS.grid, h, w);
  const K = grid[0] * grid[1];
  const km = await sphericalKMeans(features, { grid, iterations: options.iterations ?? KNN_KMEANS.iterations, locationWeight: KNN_KMEANS.locationWeight });
  const labels = km.labels;
  // Global ids over the batch so that one segmentMeans call serves every image.
  labels.data.forEach((l, p) => (labels.data[p] = l < 0 ? -1 : Math.floor(p / (h * w)) * K + l));
  const means = (await segmentMeans(features, labels)).means.data as Float32Array;
  const out: SegmentedImage[] = [];
  for (let k = 0; k < n; k++) {
    const size = sizes[k];
    const segs = new Int32Array(size.width * size.height);
    const local = new Map<number, number>();
    for (let y = 0; y < size.height; y++) {
      const row = k * h * w + Math.floor((y * h) / size.height) * w;
      for (let x = 0; x < size.width; x++) {
        const g = labels.data[row + Math.floor((x * w) / size.width)];
        if (g < 0) {
          segs[y * size.width + x] = -1;
          continue;
        }
        if (!local.has(g)) local.set(g, local.size);
        segs[y * size.width + x] = local.get(g)!;
      }
    }
    const emb = new Float32Array(local.size * D);
    for (const [g, l] of local) emb.set(means.subarray(g * D, g * D + D), l * D);
    out.push({ segments: segs, embeddings: emb, count: local.size, labels: 'data' in size ? size.data : new Uint8Array(0) });
  }
  return out;
}

/**
 * k-means segments of every labelled item of a dataset, embedded one image at a time by `embed` and
 * handed to `use` (so that a split's segment maps need not all be held at once).
 */
export async function segmentDataset(embed: (image: string) => Promise<Tensor<'float32'>>, ds: Dataset, use: (img: SegmentedImage) => void | Promise<void>, options: { grid?: [number, number]; log?: (line: string) => void } = {}): Promise<void> {
  for (const [i, item] of ds.items.entries()) {
    const features = await embed(item.image);
    const [img] = await kmeansSegments(features, [readLabel(ds, item)], { grid: options.grid });
    await use(img);
    if ((i + 1) % 50 === 0 || i === ds.items.length - 1) options.log?.(`${ds.name}: ${i + 1}/${ds.items.length} images segmented`);
  }
}

/**
 * The k-NN protocol over datasets (Table 4): k-means segments of every training image form a bank
 * labelled by majority; every evaluation segment takes the majority label of its k nearest bank
 * segments. One confusion matrix over the evaluation split.
 */
export async function knnDatasets(embed: (image: string) => Promise<Tensor<'float32'>>, train: Dataset, val: Dataset, o: { grid: [number, number]; k: number; log?: (line: string) => void }): Promise<{ cm: ConfusionMatrix; bankSize: number }> {
  if (!val.classes) throw clips4Error(ErrorCodes.dataset, `${val.name} has no class names: k-NN evaluation needs a labelled dataset`);
  const classes = val.classes;
  // The bank learns the embedding width from the first image.
  let bank: SegmentBank | undefined;
  await segmentDataset(embed, train, (img) => {
    bank ??= new SegmentBank(classes.length, img.embeddings.length / img.count);
    bank.add(img);
  }, { grid: o.grid, log: o.log });
  if (!bank) throw clips4Error(ErrorCodes.dataset, `the training split ${train.name} lists no images`);
  const trained: SegmentBank = bank;
  o.log?.(`${trained.size} labelled training segments`);
  const cm = new ConfusionMatrix(classes.length);
  await segmentDataset(embed, val, async (img) => void (await trained.score([img], cm, o.k)), { grid: o.grid, log: o.log });
  return { cm, bankSize: trained.size };
}
