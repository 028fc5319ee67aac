// What training keeps of each image between batches: only where its data is (SampleRef) — the
// image file and the size it is used at, its regions' source and the offset of its teacher
// features in the float16 cache. A batch loads its few images, regions and features (as float32)
// when it is made, so memory does not grow with the dataset; decoded images and regions may be kept
// between batches within a byte budget (DecodedCache).
import { clips4Error, ErrorCodes } from '../errors';
import type { RawImage } from '../image/load';
import { loadImage } from '../image/load';
import { resizeExact } from '../image/resize';
import { makeRng } from '../rng';
import { readCacheRecords } from './clip-cache';
import type { DecodedCache, DecodedSample } from './decoded-cache';
import { regionsFor, type RegionSource } from './region-source';
import { makeBatch, type Sample, type TrainingBatch, type ViewGeometry, type ViewOptions } from './views';

export interface SampleRef {
  file: string;
  /** Size as decoded (precomputed region maps have this size). */
  original: { width: number; height: number };
  /** Size training uses (after data.resize and rounding to the teacher's stride). */
  width: number;
  height: number;
  regions: { source: RegionSource; cacheDir: string };
  /** The record of the teacher-feature cache: file, byte offset and shape [E, fh, fw]. */
  clip: { file: string; offset: number; E: number; fh: number; fw: number };
}

/** The image at the size training uses (a decoded image of its original size in, resized if needed). */
export function usedImage(img: RawImage, width: number, height: number): Promise<RawImage> | RawImage {
  return img.width === width && img.height === height ? img : resizeExact(img, width, height);
}

/** Reads one sample's image (decoded, at the size training uses) and regions. */
async function decodeSample(ref: SampleRef): Promise<DecodedSample> {
  const decoded = await loadImage(ref.file);
  if (decoded.width !== ref.original.width || decoded.height !== ref.original.height) {
    throw clips4Error(ErrorCodes.dataset, `training image ${ref.file} changed since training was prepared (${decoded.width}×${decoded.height}, was ${ref.original.width}×${ref.original.height}): restart the run so that it is prepared again`);
  }
  const image = await usedImage(decoded, ref.width, ref.height);
  const regions = await regionsFor(ref.regions.source, ref.file, ref.original, image, ref.regions.cacheDir);
  return { image, regions };
}

const decodedKeys = new WeakMap<SampleRef, string>();

/**
 * What a decoded sample is a function of: the file, the size it is used at and how its regions are
 * made. Runs trained side by side share one cache (world reproduce), and theirs may differ in size
 * or region settings.
 */
export function decodedKey(ref: SampleRef): string {
  let key = decodedKeys.get(ref);
  if (key === undefined) decodedKeys.set(ref, (key = JSON.stringify([ref.file, ref.width, ref.height, ref.regions])));
  return key;
}

/**
 * Reads one sample's image, regions and teacher features; the image and regions from `cache` when
 * it holds them (they are never modified: views are new images). The features are read per batch.
 */
export async function loadSample(ref: SampleRef, cache?: DecodedCache): Promise<Sample> {
  const { image, regions } = await (cache ? cache.get(decodedKey(ref), () => decodeSample(ref)) : decodeSample(ref));
  const { E, fh, fw } = ref.clip;
  const data = readCacheRecords(ref.clip.file, ref.clip.offset, E * fh * fw);
  return { image, regions, clip: { data, E, fh, fw, cell: image.width / fw, cellY: image.height / fh } };
}

/**
 * Batch `i` of a run: `batch` samples drawn with the seeded generator `seed`, loaded, and two views of
 * each (the same generator continues into the views). The same seed gives the same batch. `o.trace`,
 * when given (a fresh one per batch), receives the samples drawn and each view's geometry (views 1
 * of every sample, then views 2). `o.cache` keeps decoded images and regions between batches.
 */
export async function trainingBatch(samples: SampleRef[], batch: number, seed: number, views: ViewOptions, o: { trace?: { picked: SampleRef[]; geometry: ViewGeometry[] }; cache?: DecodedCache } = {}): Promise<TrainingBatch> {
  const r = makeRng(seed);
  const pick = Array.from({ length: batch }, () => samples[r.int(samples.length)]);
  // One load per distinct sample (a batch may draw an image twice).
  const loaded = new Map<SampleRef, Promise<Sample>>();
  for (const s of pick) if (!loaded.has(s)) loaded.set(s, loadSample(s, o.cache));
  const data = await Promise.all(pick.map((s) => loaded.get(s)!));
  o.trace?.picked.push(...pick);
  return makeBatch(data, views, r, o.trace?.geometry);
}
