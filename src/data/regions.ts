// Region maps (the "visually coherent regions" of the positives): SLIC superpixels computed
// natively, cached as PNGs keyed by image and settings.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RawImage } from '../image/load';
import { encodeGray16Png, decodeIndexedPng } from '../io/png';
import { writeFileAtomicSync } from '../io/atomic';
import { call, native } from '../native';
import type { Tensor } from '../tensor';
import { integer, number } from '../validate';

export interface RegionsBinding {
  slic(image: Tensor<'uint8'>, options: { segments: number; compactness: number; iterations: number }): Promise<Tensor<'int32'>>;
}

export interface SlicOptions {
  segments?: number;
  compactness?: number;
  iterations?: number;
}

/** SLIC superpixels of an RGB image → region ids [H*W] (connected regions, ids 0..n−1). */
export async function slic(img: RawImage, options: SlicOptions = {}): Promise<Int32Array> {
  const segments = integer('options.segments', options.segments ?? 100, 1, 1e6);
  const compactness = number('options.compactness', options.compactness ?? 10, 0);
  const iterations = integer('options.iterations', options.iterations ?? 10, 1, 100);
  const t: Tensor<'uint8'> = { dtype: 'uint8', shape: [img.height, img.width, 3], data: img.data };
  const r = await call(() => native().regions.slic(t, { segments, compactness, iterations }));
  return r.data as Int32Array;
}

/** SLIC with a PNG cache in `cacheDir` keyed by the image file and the settings. */
export async function cachedSlic(cacheDir: string, imageFile: string, img: RawImage, options: SlicOptions = {}): Promise<Int32Array> {
  const key = crypto.createHash('sha1').update(JSON.stringify([path.resolve(imageFile), fs.statSync(imageFile).mtimeMs, options])).digest('hex').slice(0, 16);
  const file = path.join(cacheDir, `${path.basename(imageFile).replace(/\.[^.]+$/, '')}-${key}.png`);
  if (fs.existsSync(file)) {
    const png = decodeIndexedPng(fs.readFileSync(file), file);
    return Int32Array.from(png.data);
  }
  const regions = await slic(img, options);
  writeFileAtomicSync(file, encodeGray16Png(Uint16Array.from(regions), img.width, img.height));
  return regions;
}
