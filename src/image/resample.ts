// Small image resampling on typed arrays (bilinear, with crop and flip), used where a batch of
// many small images is built per step and alignment must be exact.
import type { RawImage } from './load';

/**
 * Samples the box (x0, y0, w, h) of `img` (in pixels, may exceed the image: edge pixels repeat)
 * into an out × out RGB image, optionally mirrored.
 */
export function cropResize(img: RawImage, x0: number, y0: number, w: number, h: number, outW: number, outH: number, flip = false): RawImage {
  const data = new Uint8Array(outW * outH * 3);
  const sx = w / outW;
  const sy = h / outH;
  // The columns' source pixels and weights are the same on every row: computed once.
  const x1s = new Int32Array(outW);
  const x2s = new Int32Array(outW);
  const txs = new Float64Array(outW);
  for (let x = 0; x < outW; x++) {
    const xx = flip ? outW - 1 - x : x;
    const fx = Math.min(img.width - 1, Math.max(0, x0 + (xx + 0.5) * sx - 0.5));
    x1s[x] = Math.floor(fx);
    x2s[x] = Math.min(img.width - 1, x1s[x] + 1);
    txs[x] = fx - x1s[x];
  }
  const src = img.data;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(img.height - 1, Math.max(0, y0 + (y + 0.5) * sy - 0.5));
    const y1 = Math.floor(fy);
    const y2 = Math.min(img.height - 1, y1 + 1);
    const ty = fy - y1;
    const r1 = y1 * img.width;
    const r2 = y2 * img.width;
    for (let x = 0; x < outW; x++) {
      const x1 = x1s[x];
      const x2 = x2s[x];
      const tx = txs[x];
      for (let c = 0; c < 3; c++) {
        const a = src[(r1 + x1) * 3 + c];
        const b = src[(r1 + x2) * 3 + c];
        const d = src[(r2 + x1) * 3 + c];
        const e = src[(r2 + x2) * 3 + c];
        data[(y * outW + x) * 3 + c] = Math.round((a * (1 - tx) + b * tx) * (1 - ty) + (d * (1 - tx) + e * tx) * ty);
      }
    }
  }
  return { data, width: outW, height: outH };
}
