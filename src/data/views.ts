// Two augmented views per image (SimCLR set): random resized crop, horizontal flip, colour jitter
// (p 0.8), grayscale (p 0.2), Gaussian blur. The geometric transform of each view is recorded and
// applied identically to the region map (nearest) and to CLIP's dense features of the original
// image (bilinear), so image, regions and features stay aligned. This module makes every choice
// (drawViews, from the run's seeded stream); native/src/views_render.cc applies them to the pixels
// off the main thread, bit for bit the TypeScript loops kept as its test reference.
import type { RawImage } from '../image/load';
import { CLIP_MEAN, CLIP_STD } from '../image/normalize';
import { call, native } from '../native';
import { tensor, zeros, type Tensor } from '../tensor';
import type { Rng } from '../rng';

export interface ViewOptions {
  /** Output side in pixels (paper 336). */
  size: number;
  /** Crop area as a fraction of the image, [min, max] (≤ 1). */
  scale: [number, number];
  flip: boolean;
  jitter: { brightness: number; contrast: number; saturation: number; hue: number; p: number };
  grayscale: number;
  blur: number;
  /** Output stride of the network: CLIP features are resampled to size/stride. */
  stride: number;
}

export const DEFAULT_VIEWS: ViewOptions = {
  size: 336,
  scale: [0.5, 1],
  flip: true,
  jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 },
  grayscale: 0.2,
  blur: 0.5,
  stride: 8,
};

/** The geometric part of a view: the source box and whether it is mirrored. */
export interface ViewGeometry {
  x0: number;
  y0: number;
  w: number;
  h: number;
  flip: boolean;
}

export function sampleGeometry(width: number, height: number, o: ViewOptions, r: Rng): ViewGeometry {
  const area = r.range(o.scale[0], o.scale[1]);
  const side = Math.sqrt(area) * Math.min(width, height);
  return { x0: r.range(0, width - side), y0: r.range(0, height - side), w: side, h: side, flip: o.flip && r.chance(0.5) };
}

/** Source coordinates (pixels) of the centre of output pixel (x, y) of an out×out view. */
export function sourcePoint(g: ViewGeometry, out: number, x: number, y: number): [number, number] {
  const xx = g.flip ? out - 1 - x : x;
  return [g.x0 + ((xx + 0.5) * g.w) / out, g.y0 + ((y + 0.5) * g.h) / out];
}

/** The photometric part of a view, as drawn (the hue as its rotation's cosine and sine). */
export interface PhotometricDraw {
  jitter: { brightness: number; contrast: number; saturation: number; cosHue: number; sinHue: number } | null;
  gray: boolean;
  blur: boolean;
}

/** Colour jitter (p `jitter.p`), grayscale and blur: which apply and how much, in the stream's order. */
export function drawPhotometric(o: ViewOptions, r: Rng): PhotometricDraw {
  let jitter: PhotometricDraw['jitter'] = null;
  if (r.chance(o.jitter.p)) {
    const brightness = 1 + r.range(-o.jitter.brightness, o.jitter.brightness);
    const contrast = 1 + r.range(-o.jitter.contrast, o.jitter.contrast);
    const saturation = 1 + r.range(-o.jitter.saturation, o.jitter.saturation);
    const h = r.range(-o.jitter.hue, o.jitter.hue) * 2 * Math.PI;
    // Cosine and sine here, not in C++: V8's and the C library's may differ in the last bit.
    jitter = { brightness, contrast, saturation, cosHue: Math.cos(h), sinHue: Math.sin(h) };
  }
  const gray = r.chance(o.grayscale);
  return { jitter, gray, blur: r.chance(o.blur) };
}

/** The columns of a view's row of parameters, as native/src/views_render.cc reads them. */
export const VIEW_PARAMS = ['sample', 'x0', 'y0', 'w', 'h', 'flip', 'jitter', 'brightness', 'contrast', 'saturation', 'cosHue', 'sinHue', 'gray', 'blur', 'cell', 'cellY'] as const;

/**
 * Every random choice of a batch's views, laid out as [view 1 of all samples, view 2 of all
 * samples], one row of VIEW_PARAMS each: per view its geometry (sampleGeometry: a square box whose
 * side is a `scale` fraction of the image's shorter side, anywhere in the image, whatever its size
 * and aspect) then its photometric draw. `geometry`, when given, receives each view's box.
 */
export function drawViews(samples: Sample[], o: ViewOptions, r: Rng, geometry?: ViewGeometry[]): Float64Array {
  const B = samples.length;
  const P = VIEW_PARAMS.length;
  const params = new Float64Array(2 * B * P);
  for (let v = 0; v < 2; v++) {
    samples.forEach((sm, b) => {
      const idx = v * B + b;
      const g = sampleGeometry(sm.image.width, sm.image.height, o, r);
      if (geometry) geometry[idx] = g;
      const ph = drawPhotometric(o, r);
      const j = ph.jitter;
      const row = [b, g.x0, g.y0, g.w, g.h, g.flip ? 1 : 0, j ? 1 : 0, j?.brightness ?? 0, j?.contrast ?? 0, j?.saturation ?? 0, j?.cosHue ?? 0, j?.sinHue ?? 0, ph.gray ? 1 : 0, ph.blur ? 1 : 0, sm.clip.cell, sm.clip.cellY ?? sm.clip.cell];
      params.set(row, idx * P);
    });
  }
  return params;
}

/** One image's data as a batch uses it (data/sample-source loads it per batch from a SampleRef). */
export interface Sample {
  image: RawImage;
  regions: Int32Array;
  /**
   * CLIP dense features of the original image [E, fh, fw] with `cell` pixels per feature across
   * and `cellY` down (default `cell`).
   */
  clip: { data: Float32Array; E: number; fh: number; fw: number; cell: number; cellY?: number };
}

export interface TrainingBatch {
  images: Tensor<'float32'>;
  regions: Tensor<'int32'>;
  ignore: Tensor<'uint8'>;
  clip: Tensor<'float32'>;
}

/**
 * Two views of each sample, laid out as [view 1 of all images, view 2 of all images], drawn here
 * (drawViews) and rendered natively: a view never reaches outside its image, so no view pixel is
 * padding and `ignore` is all zero (an image smaller than the view is enlarged). `geometry`, when
 * given, receives each view's box in the batch's order (what tests check coverage with).
 */
export async function makeBatch(samples: Sample[], o: ViewOptions, r: Rng, geometry?: ViewGeometry[]): Promise<TrainingBatch> {
  const B = samples.length;
  const S = o.size;
  const params = drawViews(samples, o, r, geometry);
  const sources = samples.map((sm) => ({
    image: tensor('uint8', [sm.image.height, sm.image.width, 3], sm.image.data),
    regions: tensor('int32', [sm.image.height, sm.image.width], sm.regions),
    clip: tensor('float32', [sm.clip.E, sm.clip.fh, sm.clip.fw], sm.clip.data),
  }));
  const out = await call(() => native().views.render(sources, tensor('float64', [2 * B, VIEW_PARAMS.length], params), { size: S, cells: Math.round(S / o.stride), mean: [...CLIP_MEAN], std: [...CLIP_STD] }));
  return { images: out.images, regions: out.regions, ignore: zeros('uint8', [2 * B, S, S]), clip: out.clip };
}
