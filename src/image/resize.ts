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
  let w = img.width;
  let h = img.height;
  if (options.shorter !== undefined) {
    const s = integer('shorter', options.shorter, 1) / Math.min(w, h);
    w = w * s;
    h = h * s;
  }
  const round = (x: number) => Math.max(m, Math.round(x / m) * m);
  return resizeRaw(img, round(w), round(h), 'fill');
}

/** Resize to exactly width × height (no crop). */
export function resizeExact(img: RawImage, width: number, height: number): Promise<RawImage> {
  return resizeRaw(img, integer('width', width, 1), integer('height', height, 1), 'fill');
}
