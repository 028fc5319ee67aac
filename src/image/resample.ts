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
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(img.height - 1, Math.max(0, y0 + (y + 0.5) * sy - 0.5));
    const y1 = Math.floor(fy);
    const y2 = Math.min(img.height - 1, y1 + 1);
    const ty = fy - y1;
    for (let x = 0; x < outW; x++) {
      const xx = flip ? outW - 1 - x : x;
      const fx = Math.min(img.width - 1, Math.max(0, x0 + (xx + 0.5) * sx - 0.5));
      const x1 = Math.floor(fx);
      const x2 = Math.min(img.width - 1, x1 + 1);
      const tx = fx - x1;
      for (let c = 0; c < 3; c++) {
        const a = img.data[(y1 * img.width + x1) * 3 + c];
        const b = img.data[(y1 * img.width + x2) * 3 + c];
        const d = img.data[(y2 * img.width + x1) * 3 + c];
        const e = img.data[(y2 * img.width + x2) * 3 + c];
        data[(y * outW + x) * 3 + c] = Math.round((a * (1 - tx) + b * tx) * (1 - ty) + (d * (1 - tx) + e * tx) * ty);
      }
    }
  }
  return { data, width: outW, height: outH };
}
