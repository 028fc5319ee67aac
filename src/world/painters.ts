// Procedural looks of every class. Stuff painters fill a region given as a predicate; thing
// painters draw an object centred at (cx, cy) with size s. Colours, textures, scale and rotation
// vary per call; each class keeps a distinct texture/colour/shape signature.
import { Canvas, jitter, mix, noise, scale, type RGB } from './canvas';
import { labelOf } from './classes';
import type { Rng } from '../rng';

type Region = (x: number, y: number) => boolean;

export function paintStuff(cv: Canvas, name: string, r: Rng, inside: Region, night = false): void {
  const n = noise(r.int(1e9));
  const L = labelOf(name);
  const S = cv.size;
  const all = (fn: (x: number, y: number) => RGB) => cv.fill(0, 0, S, S, inside, fn, L);
  switch (name) {
    case 'sky': {
      const top: RGB = night ? [0.05, 0.06, 0.2] : jitter([0.25, 0.5, 0.95], r, 0.15);
      const bottom: RGB = night ? [0.15, 0.12, 0.35] : jitter([0.7, 0.85, 1.0], r, 0.1);
      all((x, y) => mix(top, bottom, Math.min(1, y / (S * 0.6))));
      break;
    }
    case 'grass': {
      const base = jitter([0.2, 0.6, 0.15], r, 0.15);
      all((x, y) => scale(base, 0.7 + 0.5 * n(x * 3, y, 2) + 0.15 * n(x, y, 9)));
      break;
    }
    case 'water': {
      const base = jitter([0.1, 0.35, 0.65], r, 0.12);
      const f = r.range(0.5, 1.2);
      all((x, y) => mix(base, [0.85, 0.9, 1], 0.35 * Math.max(0, Math.sin(y * f * 1.7 + 2 * Math.sin(x * 0.15)) - 0.6) * 2.5));
      break;
    }
    case 'sand': {
      const base = jitter([0.9, 0.8, 0.55], r, 0.1);
      all((x, y) => scale(base, 0.85 + 0.25 * n(x, y, 1.2) + 0.08 * Math.sin(x * 0.3 + y * 0.1)));
      break;
    }
    case 'snow': {
      all((x, y) => {
        const s = n(x, y, 1) > 0.93 ? 1.1 : 0.9 + 0.08 * n(x, y, 7);
        return [0.88 * s, 0.92 * s, 1.0 * s];
      });
      break;
    }
    case 'road': {
      const g = r.range(0.3, 0.45);
      all((x, y) => {
        const lane = Math.abs((x % 24) - 12) < 5 && Math.abs(y - (cv.size * 0.8)) < 1.2;
        return lane ? [0.95, 0.9, 0.4] : scale([g, g, g + 0.02], 0.9 + 0.2 * n(x, y, 1.5));
      });
      break;
    }
    case 'brick wall': {
      const base = jitter([0.65, 0.25, 0.15], r, 0.15);
      const bh = r.range(5, 8);
      const bw = bh * 2.2;
      all((x, y) => {
        const row = Math.floor(y / bh);
        const xs = x + (row % 2) * bw * 0.5;
        const mortar = y % bh < 1.2 || xs % bw < 1.2;
        return mortar ? [0.8, 0.78, 0.72] : scale(base, 0.85 + 0.3 * n(Math.floor(xs / bw), row, 1));
      });
      break;
    }
    case 'wood floor': {
      const base = jitter([0.6, 0.4, 0.2], r, 0.15);
      const pw = r.range(7, 11);
      all((x, y) => {
        const plank = Math.floor(x / pw);
        const seam = x % pw < 1;
        const grain = 0.85 + 0.15 * Math.sin(y * 0.9 + plank * 7 + 3 * n(x, y, 6));
        return seam ? scale(base, 0.45) : scale(base, grain * (0.9 + 0.2 * n(plank, 0, 1)));
      });
      break;
    }
    case 'mountain': {
      const base: RGB = night ? [0.2, 0.2, 0.3] : jitter([0.45, 0.42, 0.5], r, 0.1);
      all((x, y) => scale(y < S * 0.3 ? mix(base, [1, 1, 1], 0.6) : base, 0.85 + 0.3 * n(x, y, 4)));
      break;
    }
    default:
      throw new Error(`no stuff painter for ${name}`);
  }
}

const disc = (cx: number, cy: number, rad: number) => (x: number, y: number) => (x - cx) ** 2 + (y - cy) ** 2 <= rad * rad;
const box = (x0: number, y0: number, x1: number, y1: number) => (x: number, y: number) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
const tri = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) => (x: number, y: number) => {
  const d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by);
  const d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy);
  const d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
};
const solid = (c: RGB) => () => c;

/** Draws a thing centred at (cx, cy) with characteristic size s (pixels). */
export function paintThing(cv: Canvas, name: string, r: Rng, cx: number, cy: number, s: number): void {
  const L = labelOf(name);
  const n = noise(r.int(1e9));
  const area = (f: (x: number, y: number) => boolean, colour: (x: number, y: number) => RGB) => cv.fill(cx - s * 1.6, cy - s * 1.6, cx + s * 1.6, cy + s * 1.6, f, colour, L);
  switch (name) {
    case 'ball': {
      const c = r.pick<RGB>([[0.9, 0.15, 0.15], [0.15, 0.3, 0.9], [0.95, 0.8, 0.1], [0.95, 0.95, 0.95]]);
      const rad = s * 0.5;
      area(disc(cx, cy, rad), (x, y) => {
        const stripe = Math.abs(Math.sin((x - cx + y - cy) * 0.6)) < 0.3;
        const shade = 1.1 - 0.5 * Math.hypot(x - cx + rad * 0.3, y - cy + rad * 0.3) / rad;
        return scale(stripe ? [1, 1, 1] : c, Math.max(0.3, shade));
      });
      break;
    }
    case 'box': {
      const c = jitter([0.75, 0.55, 0.3], r, 0.2);
      const h = s * 0.45;
      area(box(cx - h, cy - h, cx + h, cy + h), (x, y) => (Math.abs(x - cx) > h * 0.85 || Math.abs(y - cy) > h * 0.85 ? scale(c, 0.6) : Math.abs(y - cy) < 1.2 ? [0.9, 0.85, 0.6] : c));
      area(tri(cx - h, cy - h, cx + h, cy - h, cx - h * 0.5, cy - h * 1.5), solid(scale(c, 1.2)));
      break;
    }
    case 'tree': {
      const trunk: RGB = [0.4, 0.25, 0.1];
      area(box(cx - s * 0.1, cy, cx + s * 0.1, cy + s * 0.9), solid(trunk));
      const leaf = jitter([0.1, 0.45, 0.12], r, 0.1);
      area(disc(cx, cy - s * 0.2, s * 0.6), (x, y) => scale(leaf, 0.6 + 0.7 * n(x, y, 2.5)));
      break;
    }
    case 'house': {
      const wall = r.pick<RGB>([[0.9, 0.85, 0.7], [0.8, 0.3, 0.25], [0.7, 0.75, 0.85]]);
      const roof = r.pick<RGB>([[0.5, 0.15, 0.1], [0.25, 0.25, 0.3]]);
      const w = s * 0.7;
      area(box(cx - w, cy - w * 0.3, cx + w, cy + w * 0.7), (x, y) => {
        const win = (Math.abs(x - cx - w * 0.45) < w * 0.18 || Math.abs(x - cx + w * 0.45) < w * 0.18) && Math.abs(y - cy) < w * 0.18;
        const door = Math.abs(x - cx) < w * 0.15 && y > cy + w * 0.2;
        return win ? [0.3, 0.55, 0.8] : door ? [0.35, 0.2, 0.1] : wall;
      });
      area(tri(cx - w * 1.15, cy - w * 0.3, cx + w * 1.15, cy - w * 0.3, cx, cy - w * 1.1), solid(roof));
      break;
    }
    case 'car': {
      const c = r.pick<RGB>([[0.85, 0.1, 0.1], [0.1, 0.2, 0.7], [0.95, 0.95, 0.95], [0.1, 0.1, 0.1], [0.95, 0.75, 0.1]]);
      const w = s * 0.8;
      area(box(cx - w, cy - w * 0.15, cx + w, cy + w * 0.25), solid(c));
      area(box(cx - w * 0.5, cy - w * 0.45, cx + w * 0.45, cy - w * 0.15), (x) => (Math.abs(x - cx) < w * 0.05 ? c : [0.6, 0.8, 0.95]));
      area(disc(cx - w * 0.55, cy + w * 0.3, w * 0.2), solid([0.08, 0.08, 0.08]));
      area(disc(cx + w * 0.55, cy + w * 0.3, w * 0.2), solid([0.08, 0.08, 0.08]));
      break;
    }
    case 'boat': {
      const hull = r.pick<RGB>([[0.6, 0.3, 0.15], [0.9, 0.9, 0.9], [0.2, 0.3, 0.6]]);
      const w = s * 0.8;
      area(tri(cx - w, cy, cx + w, cy, cx - w * 0.6, cy + w * 0.35), solid(hull));
      area(tri(cx + w, cy, cx - w * 0.6, cy + w * 0.35, cx + w * 0.6, cy + w * 0.35), solid(hull));
      area(box(cx - 0.8, cy - w, cx + 0.8, cy), solid([0.3, 0.2, 0.1]));
      area(tri(cx + 1, cy - w, cx + 1, cy - w * 0.1, cx + w * 0.7, cy - w * 0.1), solid([0.97, 0.97, 0.92]));
      break;
    }
    case 'bird': {
      const c: RGB = r.chance(0.5) ? [0.1, 0.1, 0.12] : [0.35, 0.25, 0.2];
      const w = s * 0.5;
      const flap = r.range(0.2, 0.6);
      area((x, y) => {
        const dx = Math.abs(x - cx);
        return dx < w && Math.abs(y - (cy - flap * (w - dx) + flap * w * 0.3 - dx * 0.5 + w * 0.2)) < 1.3 + (dx < w * 0.2 ? 1.5 : 0);
      }, solid(c));
      break;
    }
    case 'cat': {
      const c = r.pick<RGB>([[0.9, 0.55, 0.2], [0.2, 0.2, 0.2], [0.6, 0.6, 0.6], [0.95, 0.95, 0.9]]);
      const w = s * 0.5;
      area((x, y) => ((x - cx) / (w * 1.1)) ** 2 + ((y - cy - w * 0.4) / (w * 0.6)) ** 2 <= 1, (x) => scale(c, 0.8 + 0.3 * Math.abs(Math.sin(x * 0.8))));
      area(disc(cx + w * 0.9, cy - w * 0.25, w * 0.45), solid(c));
      area(tri(cx + w * 0.55, cy - w * 0.5, cx + w * 0.75, cy - w * 1.05, cx + w * 0.95, cy - w * 0.55), solid(c));
      area(tri(cx + w * 0.95, cy - w * 0.55, cx + w * 1.2, cy - w * 1.05, cx + w * 1.3, cy - w * 0.4), solid(c));
      area(disc(cx + w * 1.05, cy - w * 0.3, w * 0.08), solid([0.2, 0.7, 0.2]));
      area(box(cx - w * 1.5, cy - w * 0.2, cx - w * 1.0, cy + w * 0.05), solid(c));
      break;
    }
    case 'flower': {
      const petal = r.pick<RGB>([[0.95, 0.2, 0.5], [0.95, 0.9, 0.2], [0.7, 0.3, 0.9], [0.98, 0.98, 0.98]]);
      const w = s * 0.4;
      area(box(cx - 0.7, cy, cx + 0.7, cy + w * 2), solid([0.15, 0.5, 0.15]));
      for (let k = 0; k < 6; k++) {
        const a = (k / 6) * Math.PI * 2;
        area(disc(cx + Math.cos(a) * w * 0.6, cy + Math.sin(a) * w * 0.6, w * 0.42), solid(petal));
      }
      area(disc(cx, cy, w * 0.3), solid([0.95, 0.7, 0.1]));
      break;
    }
    case 'moon': {
      const rad = s * 0.5;
      const crescent = r.chance(0.4);
      area((x, y) => disc(cx, cy, rad)(x, y) && !(crescent && disc(cx + rad * 0.5, cy - rad * 0.2, rad * 0.85)(x, y)), (x, y) => {
        const crater = n(x, y, 3) > 0.72 ? 0.75 : 1;
        return scale([0.93, 0.93, 0.85], crater);
      });
      break;
    }
    case 'sun': {
      const rad = s * 0.45;
      area(disc(cx, cy, rad * 1.35), (x, y) => {
        const d = Math.hypot(x - cx, y - cy) / rad;
        return d < 1 ? [1, 0.92, 0.3] : mix([1, 0.8, 0.2], [1, 0.6, 0.2], d - 1);
      });
      break;
    }
    case 'cloud': {
      const w = s * 0.6;
      const blobs = 3 + r.int(3);
      const centres = Array.from({ length: blobs }, (_, k) => [cx - w + (2 * w * k) / (blobs - 1), cy + r.range(-0.2, 0.2) * w, w * r.range(0.35, 0.55)]);
      area((x, y) => centres.some(([bx, by, br]) => (x - bx) ** 2 + (y - by) ** 2 < br * br), (x, y) => scale([0.97, 0.97, 1], 0.88 + 0.12 * n(x, y, 3)));
      break;
    }
    case 'kite': {
      const c = r.pick<RGB>([[0.95, 0.2, 0.2], [0.2, 0.8, 0.3], [0.95, 0.5, 0.1], [0.6, 0.2, 0.8]]);
      const w = s * 0.45;
      area((x, y) => Math.abs(x - cx) / w + Math.abs(y - cy) / (w * 1.4) <= 1, (x, y) => ((x > cx) !== (y > cy) ? c : scale(c, 0.6)));
      area((x, y) => y > cy + w * 1.3 && y < cy + w * 3 && Math.abs(x - (cx + 2 * Math.sin((y - cy) * 0.5))) < 0.8, solid([0.2, 0.2, 0.2]));
      break;
    }
    case 'fence': {
      const c = r.pick<RGB>([[0.95, 0.95, 0.92], [0.55, 0.35, 0.2]]);
      const w = s * 1.2;
      const gap = r.range(5, 8);
      area((x, y) => Math.abs(x - cx) < w && ((((x - cx + w) % gap) < 2 && y > cy - s * 0.4 && y < cy + s * 0.4) || Math.abs(y - cy + s * 0.15) < 1 || Math.abs(y - cy - s * 0.2) < 1), solid(c));
      break;
    }
    case 'umbrella': {
      const c = r.pick<RGB>([[0.9, 0.2, 0.2], [0.2, 0.5, 0.9], [0.95, 0.8, 0.1]]);
      const w = s * 0.7;
      area(box(cx - 0.8, cy - w * 0.3, cx + 0.8, cy + w), solid([0.3, 0.3, 0.3]));
      area((x, y) => y <= cy - w * 0.3 && (x - cx) ** 2 / (w * w) + (y - cy + w * 0.3) ** 2 / (w * w * 0.36) <= 1, (x) => (Math.floor((x - cx + w) / (w / 3)) % 2 === 0 ? c : [0.97, 0.97, 0.97]));
      break;
    }
    default:
      throw new Error(`no thing painter for ${name}`);
  }
}
