// A float RGB canvas with a label map: every paint call writes colour and class together, so the
// label of a pixel is exactly the class that painted it last.
export type RGB = [number, number, number];

export class Canvas {
  readonly rgb: Float32Array;
  readonly label: Uint8Array;

  constructor(readonly size: number) {
    this.rgb = new Float32Array(size * size * 3);
    this.label = new Uint8Array(size * size);
  }

  set(x: number, y: number, c: RGB, label: number): void {
    if (x < 0 || y < 0 || x >= this.size || y >= this.size) return;
    const i = y * this.size + x;
    this.rgb[3 * i] = c[0];
    this.rgb[3 * i + 1] = c[1];
    this.rgb[3 * i + 2] = c[2];
    this.label[i] = label;
  }

  /** Paints every pixel whose centre satisfies `inside`, coloured by `colour(x, y)`. */
  fill(x0: number, y0: number, x1: number, y1: number, inside: (x: number, y: number) => boolean, colour: (x: number, y: number) => RGB, label: number): void {
    const a = Math.max(0, Math.floor(x0));
    const b = Math.min(this.size - 1, Math.ceil(x1));
    const c = Math.max(0, Math.floor(y0));
    const d = Math.min(this.size - 1, Math.ceil(y1));
    for (let y = c; y <= d; y++) for (let x = a; x <= b; x++) if (inside(x + 0.5, y + 0.5)) this.set(x, y, colour(x + 0.5, y + 0.5), label);
  }

  /** 8-bit RGB after a global brightness/tint (lighting). */
  toBytes(gain: number, tint: RGB): Uint8Array {
    const out = new Uint8Array(this.rgb.length);
    for (let i = 0; i < this.rgb.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(this.rgb[i] * gain * tint[i % 3] * 255)));
    return out;
  }
}

/** Value noise in [0,1], smooth at scale `s` pixels (deterministic per seed). */
export function noise(seed: number): (x: number, y: number, s: number) => number {
  const h = (i: number, j: number) => {
    let t = Math.imul(i * 374761393 + j * 668265263 + seed * 2246822519, 3266489917) >>> 0;
    t = Math.imul(t ^ (t >>> 13), 1274126177) >>> 0;
    return ((t ^ (t >>> 16)) >>> 0) / 4294967296;
  };
  return (x, y, s) => {
    const fx = x / s;
    const fy = y / s;
    const i = Math.floor(fx);
    const j = Math.floor(fy);
    const u = fx - i;
    const v = fy - j;
    const su = u * u * (3 - 2 * u);
    const sv = v * v * (3 - 2 * v);
    const a = h(i, j) + (h(i + 1, j) - h(i, j)) * su;
    const b = h(i, j + 1) + (h(i + 1, j + 1) - h(i, j + 1)) * su;
    return a + (b - a) * sv;
  };
}

export const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
export const scale = (a: RGB, k: number): RGB => [a[0] * k, a[1] * k, a[2] * k];
export const jitter = (a: RGB, r: () => number, amount: number): RGB => [a[0] + (r() - 0.5) * amount, a[1] + (r() - 0.5) * amount, a[2] + (r() - 0.5) * amount];
