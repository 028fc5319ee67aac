// Writing segmentations: indexed PNG (VOC palette), colour overlay, class areas.
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic';
import { encodeIndexedPng, vocPalette } from '../io/png';
import type { RawImage } from '../image/load';
import type { Segmentation } from './segmenter';

export async function writeLabelPng(file: string, s: Segmentation): Promise<void> {
  const idx = new Uint8Array(s.labels.length);
  for (let i = 0; i < idx.length; i++) idx[i] = s.labels[i] > 255 ? 255 : s.labels[i];
  await writeFileAtomic(file, encodeIndexedPng(idx, s.width, s.height));
}

/** The image with class colours blended at `alpha`. */
export async function writeOverlay(file: string, image: RawImage, s: Segmentation, alpha = 0.5): Promise<void> {
  const pal = vocPalette();
  const out = Buffer.alloc(image.data.length);
  for (let i = 0; i < s.labels.length; i++) {
    const l = s.labels[i] === 255 ? 0 : s.labels[i] + 1;
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.round(image.data[3 * i + c] * (1 - alpha) + pal[l * 3 + c] * alpha);
  }
  await writeFileAtomic(file, await sharp(out, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer());
}

/** Fraction of the image per class name. */
export function classAreas(s: Segmentation): Record<string, number> {
  const counts = new Array(s.classes.length).fill(0);
  for (const l of s.labels) if (l < counts.length) counts[l]++;
  return Object.fromEntries(s.classes.map((c, i) => [c, counts[i] / s.labels.length]));
}
