// Where a training image's regions come from: computed (SLIC or Felzenszwalb, cached as PNG) or
// read from a folder of precomputed region PNGs. Also maps the data.* config keys to a source.
import * as fs from 'node:fs';
import type { RawImage } from '../image/load';
import { cachedRegions, REGION_METHODS, type RegionOptions } from './regions';
import { folderRegions, regionFileFor, relabel } from './region-folder';
import { oneOf } from '../validate';

export type RegionSource = RegionOptions | { dir: string };

function isFolder(s: RegionSource): s is { dir: string } {
  return typeof (s as { dir?: unknown }).dir === 'string';
}

/**
 * Nearest-neighbour resampling of a region map (pixel centres) to outW×outH; ids are renumbered so
 * they stay contiguous.
 */
export function resizeRegions(ids: Int32Array, width: number, height: number, outW: number, outH: number): Int32Array {
  if (width === outW && height === outH) return ids;
  const out = new Int32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / outH));
    for (let x = 0; x < outW; x++) out[y * outW + x] = ids[sy * width + Math.min(width - 1, Math.floor(((x + 0.5) * width) / outW))];
  }
  return relabel(out);
}

/**
 * Region ids [H*W] for `img` (the image as training uses it: `imageFile`, decoded at `original`
 * size, then resized keeping its aspect up to rounding). Computed regions are cached in
 * `cacheDir`; precomputed ones must have the original size and follow the same resize.
 */
export async function regionsFor(source: RegionSource, imageFile: string, original: { width: number; height: number }, img: RawImage, cacheDir: string): Promise<Int32Array> {
  if (!isFolder(source)) return cachedRegions(cacheDir, imageFile, img, source);
  const map = await folderRegions(source.dir, imageFile, original);
  return resizeRegions(map.ids, map.width, map.height, img.width, img.height);
}

/** Whether a region folder still holds `imageFile`'s map (computed regions: always; they are recomputed when missing). */
export function regionsPresent(source: RegionSource, imageFile: string): boolean {
  return !isFolder(source) || fs.existsSync(regionFileFor(source.dir, imageFile));
}

/** The data.* config keys that choose the regions (declared in src/train/schema.ts). */
export interface RegionConfig {
  regions: number;
  compactness: number;
  regionMethod: string;
  felzenszwalbScale: number;
  felzenszwalbSigma: number;
  felzenszwalbMinSize: number;
  regionDir: string;
}

export function regionSourceFromConfig(d: RegionConfig): RegionSource {
  if (d.regionDir) return { dir: d.regionDir };
  const method = oneOf('data.regionMethod', d.regionMethod, REGION_METHODS);
  return method === 'felzenszwalb'
    ? { method, scale: d.felzenszwalbScale, sigma: d.felzenszwalbSigma, minSize: d.felzenszwalbMinSize }
    : { method, segments: d.regions, compactness: d.compactness };
}
