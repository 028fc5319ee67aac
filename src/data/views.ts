// Two augmented views per image (SimCLR set): random resized crop, horizontal flip, colour jitter
// (p 0.8), grayscale (p 0.2), Gaussian blur. The geometric transform of each view is recorded and
// applied identically to the region map (nearest) and to CLIP's dense features of the original
// image (bilinear), so image, regions and features stay aligned.
import type { RawImage } from '../image/load';
import { normalizeImages, CLIP_MEAN, CLIP_STD } from '../image/normalize';
import { zeros, type Tensor } from '../tensor';
import type { Rng } from '../rng';
import { cropResize } from '../image/resample';

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

/** Region map (row-major ids) through the view, nearest neighbour. */
export function warpRegions(regions: Int32Array, width: number, height: number, g: ViewGeometry, out: number): Int32Array {
  const o = new Int32Array(out * out);
  for (let y = 0; y < out; y++) {
    for (let x = 0; x < out; x++) {
      const [sx, sy] = sourcePoint(g, out, x, y);
      const ix = Math.min(width - 1, Math.max(0, Math.floor(sx)));
      const iy = Math.min(height - 1, Math.max(0, Math.floor(sy)));
      o[y * out + x] = regions[iy * width + ix];
    }
  }
  return o;
}

/**
 * CLIP features [E, fh, fw] of the original image (cells of `cell` pixels across, `cellY` down:
 * the two differ slightly where the teacher's rounding of a non-square image did) through the view,
 * bilinear, at out×out cells of an outPx-pixel view.
 */
export function warpFeatures(feat: Float32Array, E: number, fh: number, fw: number, cell: number, g: ViewGeometry, outPx: number, out: number, cellY = cell): Float32Array {
  const o = new Float32Array(E * out * out);
  const scale = outPx / out;
  for (let y = 0; y < out; y++) {
    for (let x = 0; x < out; x++) {
      // Centre of this output cell in view pixels, then in source pixels, then in feature cells.
      const [sx, sy] = sourcePoint(g, outPx, (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5);
      const fx = Math.min(fw - 1, Math.max(0, sx / cell - 0.5));
      const fy = Math.min(fh - 1, Math.max(0, sy / cellY - 0.5));
      const x1 = Math.floor(fx);
      const y1 = Math.floor(fy);
      const x2 = Math.min(fw - 1, x1 + 1);
      const y2 = Math.min(fh - 1, y1 + 1);
      const tx = fx - x1;
      const ty = fy - y1;
      for (let e = 0; e < E; e++) {
        const b = e * fh * fw;
        const v = (feat[b + y1 * fw + x1] * (1 - tx) + feat[b + y1 * fw + x2] * tx) * (1 - ty) + (feat[b + y2 * fw + x1] * (1 - tx) + feat[b + y2 * fw + x2] * tx) * ty;
        o[e * out * out + y * out + x] = v;
      }
    }
  }
  return o;
}

function clamp(x: number): number {
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/** Photometric augmentation in place (geometry unchanged). */
export function photometric(img: RawImage, o: ViewOptions, r: Rng): void {
  const d = img.data;
  const n = img.width * img.height;
  if (r.chance(o.jitter.p)) {
    const b = 1 + r.range(-o.jitter.brightness, o.jitter.brightness);
    const c = 1 + r.range(-o.jitter.contrast, o.jitter.contrast);
    const s = 1 + r.range(-o.jitter.saturation, o.jitter.saturation);
    const h = r.range(-o.jitter.hue, o.jitter.hue) * 2 * Math.PI;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += 0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2];
    mean = (mean / n) * b;
    // Hue rotation in YIQ space.
    const cosH = Math.cos(h);
    const sinH = Math.sin(h);
    for (let i = 0; i < n; i++) {
      let R = d[3 * i] * b;
      let G = d[3 * i + 1] * b;
      let B = d[3 * i + 2] * b;
      R = (R - mean) * c + mean;
      G = (G - mean) * c + mean;
      B = (B - mean) * c + mean;
      const Y = 0.299 * R + 0.587 * G + 0.114 * B;
      const I0 = (0.596 * R - 0.274 * G - 0.322 * B) * s;
      const Q0 = (0.211 * R - 0.523 * G + 0.312 * B) * s;
      const I = I0 * cosH - Q0 * sinH;
      const Q = I0 * sinH + Q0 * cosH;
      d[3 * i] = clamp(Y + 0.956 * I + 0.621 * Q);
      d[3 * i + 1] = clamp(Y - 0.272 * I - 0.647 * Q);
      d[3 * i + 2] = clamp(Y - 1.106 * I + 1.703 * Q);
    }
  }
  if (r.chance(o.grayscale)) {
    for (let i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = clamp(0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2]);
  }
  if (r.chance(o.blur)) {
    // A 3×3 binomial kernel ([1 2 1]/4 each way), edges repeated. Every weighted sum is an integer
    // times a sixteenth, exact in doubles, so the order of the sums does not change the result.
    const src = Uint8Array.from(d);
    const W = img.width;
    const H = img.height;
    for (let y = 0; y < H; y++) {
      const up = Math.max(0, y - 1) * W;
      const row = y * W;
      const down = Math.min(H - 1, y + 1) * W;
      for (let x = 0; x < W; x++) {
        const left = Math.max(0, x - 1);
        const right = Math.min(W - 1, x + 1);
        for (let c = 0; c < 3; c++) {
          const u = 0.25 * src[(up + left) * 3 + c] + 0.5 * src[(up + x) * 3 + c] + 0.25 * src[(up + right) * 3 + c];
          const m = 0.25 * src[(row + left) * 3 + c] + 0.5 * src[(row + x) * 3 + c] + 0.25 * src[(row + right) * 3 + c];
          const b = 0.25 * src[(down + left) * 3 + c] + 0.5 * src[(down + x) * 3 + c] + 0.25 * src[(down + right) * 3 + c];
          d[(row + x) * 3 + c] = Math.round(0.25 * u + 0.5 * m + 0.25 * b);
        }
      }
    }
  }
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
 * Two views of each sample, laid out as [view 1 of all images, view 2 of all images]. Each view is
 * a random resized crop of the whole image, whatever its size and aspect (sampleGeometry: a square
 * box whose side is a `scale` fraction of the shorter side, anywhere in the image), resampled to
 * size×size: a view never reaches outside its image, so no view pixel is padding and `ignore` is
 * all zero (an image smaller than the view is enlarged). `geometry`, when given, receives each
 * view's box in the batch's order (what tests check coverage with).
 */
export function makeBatch(samples: Sample[], o: ViewOptions, r: Rng, geometry?: ViewGeometry[]): TrainingBatch {
  const B = samples.length;
  const S = o.size;
  const s = Math.round(S / o.stride);
  const E = samples[0].clip.E;
  const views: RawImage[] = new Array(2 * B);
  const regions = zeros('int32', [2 * B, S, S]);
  const clip = zeros('float32', [2 * B, E, s, s]);
  for (let v = 0; v < 2; v++) {
    samples.forEach((sm, b) => {
      const g = sampleGeometry(sm.image.width, sm.image.height, o, r);
      const idx = v * B + b;
      if (geometry) geometry[idx] = g;
      const img = cropResize(sm.image, g.x0, g.y0, g.w, g.h, S, S, g.flip);
      photometric(img, o, r);
      views[idx] = img;
      regions.data.set(warpRegions(sm.regions, sm.image.width, sm.image.height, g, S), idx * S * S);
      clip.data.set(warpFeatures(sm.clip.data, E, sm.clip.fh, sm.clip.fw, sm.clip.cell, g, S, s, sm.clip.cellY), idx * E * s * s);
    });
  }
  return { images: normalizeImages(views, { mean: CLIP_MEAN, std: CLIP_STD }), regions, ignore: zeros('uint8', [2 * B, S, S]), clip };
}
