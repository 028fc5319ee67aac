// The TypeScript reference of a training batch's views, which native/src/views_render.cc renders
// bit for bit (test/views-native.test.ts). These loops were src/data/views.ts's until the views
// moved to C++ (they cost ~8 ms of the main thread per world batch); the naive references in
// test/views.test.ts check them against the definitions, and the native renderer is checked
// against them.
import { sourcePoint, VIEW_PARAMS, type PhotometricDraw, type Sample, type TrainingBatch, type ViewGeometry, type ViewOptions } from '../../src/data/views';
import { cropResize } from '../../src/image/resample';
import type { RawImage } from '../../src/image/load';
import { CLIP_MEAN, CLIP_STD, normalizeImages } from '../../src/image/normalize';
import { zeros } from '../../src/tensor';

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

/** Photometric augmentation in place (geometry unchanged), as drawn by drawPhotometric. */
export function photometric(img: RawImage, draw: PhotometricDraw): void {
  const d = img.data;
  const n = img.width * img.height;
  if (draw.jitter) {
    const { brightness: b, contrast: c, saturation: s, cosHue: cosH, sinHue: sinH } = draw.jitter;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += 0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2];
    mean = (mean / n) * b;
    // Hue rotation in YIQ space.
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
  if (draw.gray) {
    for (let i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = clamp(0.299 * d[3 * i] + 0.587 * d[3 * i + 1] + 0.114 * d[3 * i + 2]);
  }
  if (draw.blur) {
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


/** A batch from views drawn by drawViews (its params), rendered by the loops above. */
export function referenceBatch(samples: Sample[], params: Float64Array, o: ViewOptions): TrainingBatch {
  const B = samples.length;
  const S = o.size;
  const s = Math.round(S / o.stride);
  const E = samples[0].clip.E;
  const P = VIEW_PARAMS.length;
  const col = (v: number, name: (typeof VIEW_PARAMS)[number]) => params[v * P + VIEW_PARAMS.indexOf(name)];
  const views: RawImage[] = [];
  const regions = zeros('int32', [2 * B, S, S]);
  const clip = zeros('float32', [2 * B, E, s, s]);
  for (let v = 0; v < 2 * B; v++) {
    const sm = samples[col(v, 'sample')];
    const g: ViewGeometry = { x0: col(v, 'x0'), y0: col(v, 'y0'), w: col(v, 'w'), h: col(v, 'h'), flip: col(v, 'flip') === 1 };
    const img = cropResize(sm.image, g.x0, g.y0, g.w, g.h, S, S, g.flip);
    const draw: PhotometricDraw = {
      jitter: col(v, 'jitter') ? { brightness: col(v, 'brightness'), contrast: col(v, 'contrast'), saturation: col(v, 'saturation'), cosHue: col(v, 'cosHue'), sinHue: col(v, 'sinHue') } : null,
      gray: col(v, 'gray') === 1,
      blur: col(v, 'blur') === 1,
    };
    photometric(img, draw);
    views.push(img);
    regions.data.set(warpRegions(sm.regions, sm.image.width, sm.image.height, g, S), v * S * S);
    clip.data.set(warpFeatures(sm.clip.data, E, sm.clip.fh, sm.clip.fw, col(v, 'cell'), g, S, s, col(v, 'cellY')), v * E * s * s);
  }
  return { images: normalizeImages(views, { mean: CLIP_MEAN, std: CLIP_STD }), regions, ignore: zeros('uint8', [2 * B, S, S]), clip };
}
