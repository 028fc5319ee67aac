// Resizing policies: CLIP's encodeImage preprocessing (shorter side to `size`, centre crop) and
// the aspect-preserving resize used for dense features (sizes rounded to a multiple of the patch).
import sharp from 'sharp';
import { integer } from '../validate';
import type { RawImage } from './load';

async function resizeRaw(img: RawImage, width: number, height: number, fit: 'fill' | 'cover'): Promise<RawImage> {
  if (img.width === width && img.height === height) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit, position: 'centre', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** CLIP preprocessing: resize the shorter side to `size` (bicubic), then centre-crop size × size. */
export function resizeShorterCenterCrop(img: RawImage, size: number): Promise<RawImage> {
  integer('size', size, 1);
  return resizeRaw(img, size, size, 'cover');
}

/**
 * Aspect-preserving resize: the shorter side becomes `shorter` (when given), then each side is
 * rounded to the nearest multiple of `multipleOf` (at least one multiple).
 */
export function resizeKeepAspect(img: RawImage, options: { shorter?: number; multipleOf?: number } = {}): Promise<RawImage> {
  const m = options.multipleOf === undefined ? 1 : integer('multipleOf', options.multipleOf, 1);
  const shorter = options.shorter === undefined ? 0 : integer('shorter', options.shorter, 1);
  const size = keepAspectSize(img.width, img.height, shorter, m);
  return resizeRaw(img, size.width, size.height, 'fill');
}

/**
 * The size resizeKeepAspect gives: shorter side `shorter` (0 = the image's own), each side rounded to
 * the nearest multiple of `multiple` (at least one).
 */
export function keepAspectSize(width: number, height: number, shorter: number, multiple: number): { width: number; height: number } {
  const s = shorter ? shorter / Math.min(width, height) : 1;
  const round = (x: number) => Math.max(multiple, Math.round((x * s) / multiple) * multiple);
  return { width: round(width), height: round(height) };
}

/** Resize to exactly width × height (no crop). */
export function resizeExact(img: RawImage, width: number, height: number): Promise<RawImage> {
  return resizeRaw(img, integer('width', width, 1), integer('height', height, 1), 'fill');
}
