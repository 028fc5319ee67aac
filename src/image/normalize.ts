// RGB images → normalised float32 NCHW tensors (and back, for overlays).
import { clips4Error, ErrorCodes } from '../errors';
import { zeros, type Tensor } from '../tensor';
import type { RawImage } from './load';

/** CLIP's normalisation constants (OpenAI). */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
/** ImageNet's (torchvision backbones, MaskCLIP's configs). */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** Stacks same-sized RGB images into [N,3,H,W] float32, (x/255 − mean)/std per channel. */
export function normalizeImages(images: RawImage[], norm: Normalization = { mean: CLIP_MEAN, std: CLIP_STD }): Tensor<'float32'> {
  if (images.length === 0) throw clips4Error(ErrorCodes.invalidArg, 'Expected at least one image but received none', 'RangeError');
  const { width, height } = images[0];
  images.forEach((im, i) => {
    if (im.width !== width || im.height !== height) {
      throw clips4Error(ErrorCodes.shape, `Expected every image to be ${width}×${height} (like image 0) but image ${i} is ${im.width}×${im.height}; resize them first`, 'RangeError');
    }
  });
  const plane = width * height;
  const out = zeros('float32', [images.length, 3, height, width]);
  images.forEach((im, n) => {
    for (let c = 0; c < 3; c++) {
      const scale = 1 / (255 * norm.std[c]);
      const shift = norm.mean[c] / norm.std[c];
      const base = (n * 3 + c) * plane;
      for (let p = 0; p < plane; p++) out.data[base + p] = im.data[3 * p + c] * scale - shift;
    }
  });
  return out;
}

/** Inverse of normalizeImages for one image of a batch (clamped to 0..255). */
export function denormalizeImage(t: Tensor<'float32'>, index: number, norm: Normalization = { mean: CLIP_MEAN, std: CLIP_STD }): RawImage {
  const [, , height, width] = t.shape;
  const plane = width * height;
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const base = (index * 3 + c) * plane;
    for (let p = 0; p < plane; p++) data[3 * p + c] = Math.max(0, Math.min(255, Math.round((t.data[base + p] * norm.std[c] + norm.mean[c]) * 255)));
  }
  return { data, width, height };
}
