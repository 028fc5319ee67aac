// Regions read from a folder of precomputed region PNGs (e.g. OWT-UCM regions users already
// have): image `<name>.<ext>` takes `<dir>/<name>.png`. Accepted encodings:
//  - single channel: 8- or 16-bit grey, or a palette PNG (the index is the id);
//  - 8-bit RGB (or RGBA, alpha ignored): id = R·65536 + G·256 + B.
// Every distinct value is a region (0 included); ids are renumbered 0..n−1 in raster order of
// each region's first pixel. Regions are taken as given (not checked for connectivity).
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { clips4Error, ErrorCodes } from '../errors';
import { decodeIndexedPng } from '../io/png';

export interface RegionMap {
  ids: Int32Array;
  width: number;
  height: number;
}

/** Renumbers arbitrary values to 0..n−1 in raster order of first appearance. */
export function relabel(values: ArrayLike<number>): Int32Array {
  const map = new Map<number, number>();
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let id = map.get(values[i]);
    if (id === undefined) map.set(values[i], (id = map.size));
    out[i] = id;
  }
  return out;
}

/** Decodes one region PNG (see the accepted encodings above) to contiguous ids. */
export async function readRegionPng(file: string): Promise<RegionMap> {
  const buf = fs.readFileSync(file);
  // IHDR is the first chunk: bit depth at byte 24, colour type at byte 25.
  const depth = buf.length > 25 ? buf[24] : 0;
  const type = buf.length > 25 ? buf[25] : -1;
  if (type !== 2 && type !== 6) {
    const png = decodeIndexedPng(buf, file);
    return { ids: relabel(png.data), width: png.width, height: png.height };
  }
  if (depth !== 8) throw clips4Error(ErrorCodes.format, `Cannot read region map ${file}: ${depth}-bit RGB is not supported; use 8-bit RGB (id = R·65536 + G·256 + B) or 8/16-bit grey`);
  const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const packed = new Int32Array(info.width * info.height);
  for (let i = 0; i < packed.length; i++) packed[i] = (data[3 * i] << 16) | (data[3 * i + 1] << 8) | data[3 * i + 2];
  return { ids: relabel(packed), width: info.width, height: info.height };
}

/** The region PNG expected for `imageFile` in `dir`. */
export function regionFileFor(dir: string, imageFile: string): string {
  return path.join(dir, `${path.basename(imageFile).replace(/\.[^.]+$/, '')}.png`);
}

/**
 * Precomputed regions of `imageFile`, whose decoded size is `size`; errors name the image and
 * the expected file when it is missing, and both files and sizes when they differ.
 */
export async function folderRegions(dir: string, imageFile: string, size: { width: number; height: number }): Promise<RegionMap> {
  const file = regionFileFor(dir, imageFile);
  if (!fs.existsSync(file)) throw clips4Error(ErrorCodes.file, `No precomputed regions for image ${imageFile}: expected ${file} (region folder ${dir})`);
  const map = await readRegionPng(file);
  if (map.width !== size.width || map.height !== size.height) {
    throw clips4Error(ErrorCodes.shape, `Region map ${file} is ${map.width}×${map.height} but its image ${imageFile} is ${size.width}×${size.height}; region maps must have their image's size`);
  }
  return map;
}
