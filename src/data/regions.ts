// Region maps (the "visually coherent regions" of the positives) computed natively: SLIC
// superpixels or Felzenszwalb graph segmentation, cached as PNGs keyed by image and settings.
// Each method's settings and defaults are declared here once.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkRawImage, type RawImage } from '../image/load';
import { encodeGray16Png, decodeIndexedPng } from '../io/png';
import { writeFileAtomicSync } from '../io/atomic';
import { call, native } from '../native';

export type { RegionsBinding } from '../binding';
import type { Tensor } from '../tensor';
import { integer, number, oneOf } from '../validate';


export const REGION_METHODS = ['slic', 'felzenszwalb'] as const;
export type RegionMethod = (typeof REGION_METHODS)[number];

export const SLIC_DEFAULTS = { segments: 100, compactness: 10, iterations: 10 };
/** scale: larger → fewer, bigger regions (k of the paper, for 0..255 RGB); sigma: pre-smoothing; minSize: smallest region in pixels. */
export const FELZENSZWALB_DEFAULTS = { scale: 300, sigma: 0.8, minSize: 50 };

export type SlicOptions = Partial<typeof SLIC_DEFAULTS>;
export type FelzenszwalbOptions = Partial<typeof FELZENSZWALB_DEFAULTS>;

/** A computed region method with its settings (`method` defaults to 'slic'). */
export type RegionOptions = ({ method?: 'slic' } & SlicOptions) | ({ method: 'felzenszwalb' } & FelzenszwalbOptions);

function imageTensor(img: RawImage): Tensor<'uint8'> {
  checkRawImage('image', img);
  return { dtype: 'uint8', shape: [img.height, img.width, 3], data: img.data };
}

function slicSettings(o: SlicOptions): typeof SLIC_DEFAULTS {
  return {
    segments: integer('options.segments', o.segments ?? SLIC_DEFAULTS.segments, 1, 1e6),
    compactness: number('options.compactness', o.compactness ?? SLIC_DEFAULTS.compactness, 0),
    iterations: integer('options.iterations', o.iterations ?? SLIC_DEFAULTS.iterations, 1, 100),
  };
}

function felzenszwalbSettings(o: FelzenszwalbOptions): typeof FELZENSZWALB_DEFAULTS {
  return {
    scale: number('options.scale', o.scale ?? FELZENSZWALB_DEFAULTS.scale, 0, 1e9),
    sigma: number('options.sigma', o.sigma ?? FELZENSZWALB_DEFAULTS.sigma, 0, 100),
    minSize: integer('options.minSize', o.minSize ?? FELZENSZWALB_DEFAULTS.minSize, 1, 1e9),
  };
}

/** Validated settings with defaults filled in (also the cache key). */
export function regionSettings(o: RegionOptions): ({ method: 'slic' } & typeof SLIC_DEFAULTS) | ({ method: 'felzenszwalb' } & typeof FELZENSZWALB_DEFAULTS) {
  const method = oneOf('options.method', o.method ?? 'slic', REGION_METHODS);
  return method === 'slic' ? { method, ...slicSettings(o as SlicOptions) } : { method, ...felzenszwalbSettings(o as FelzenszwalbOptions) };
}

/** SLIC superpixels of an RGB image → region ids [H*W] (connected regions, ids 0..n−1). */
export async function slic(img: RawImage, options: SlicOptions = {}): Promise<Int32Array> {
  const s = slicSettings(options);
  const r = await call(() => native().regions.slic(imageTensor(img), s));
  return r.data as Int32Array;
}

/**
 * Felzenszwalb–Huttenlocher segmentation of an RGB image → region ids [H*W], contiguous from 0
 * in raster order of each region's first pixel. Regions are 8-connected and (unless the image
 * is smaller) at least minSize pixels.
 */
export async function felzenszwalb(img: RawImage, options: FelzenszwalbOptions = {}): Promise<Int32Array> {
  const s = felzenszwalbSettings(options);
  const r = await call(() => native().regions.felzenszwalb(imageTensor(img), s));
  return r.data as Int32Array;
}

export function computeRegions(img: RawImage, options: RegionOptions = {}): Promise<Int32Array> {
  return options.method === 'felzenszwalb' ? felzenszwalb(img, options) : slic(img, options as SlicOptions);
}

/** Regions with a PNG cache in `cacheDir` keyed by the image file, its decoded size and the settings. */
export async function cachedRegions(cacheDir: string, imageFile: string, img: RawImage, options: RegionOptions = {}): Promise<Int32Array> {
  const settings = regionSettings(options);
  const key = crypto
    .createHash('sha1')
    .update(JSON.stringify([path.resolve(imageFile), fs.statSync(imageFile).mtimeMs, img.width, img.height, settings]))
    .digest('hex')
    .slice(0, 16);
  const file = path.join(cacheDir, `${path.basename(imageFile).replace(/\.[^.]+$/, '')}-${key}.png`);
  if (fs.existsSync(file)) {
    const png = decodeIndexedPng(fs.readFileSync(file), file);
    return Int32Array.from(png.data);
  }
  const regions = await computeRegions(img, options);
  // Ids are stored as 16-bit grey; a map with more regions than that is recomputed each time.
  if (regions.every((v) => v < 65536)) {
    writeFileAtomicSync(file, encodeGray16Png(Uint16Array.from(regions), img.width, img.height));
  }
  return regions;
}

/** SLIC with the PNG cache (kept for callers of the SLIC-only API). */
export function cachedSlic(cacheDir: string, imageFile: string, img: RawImage, options: SlicOptions = {}): Promise<Int32Array> {
  return cachedRegions(cacheDir, imageFile, img, { method: 'slic', ...options });
}
