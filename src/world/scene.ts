// Scene layouts: outdoor scenes (sky above a horizon, ground below, mountains between; sky things
// up high, ground things standing on the ground, nearer ones larger and painted later so they
// occlude) and indoor scenes (a brick wall above a wood floor).
import { Canvas, type RGB } from './canvas';
import { paintStuff, paintThing } from './painters';
import type { Rng } from '../rng';

export interface Scene {
  canvas: Canvas;
  gain: number;
  tint: RGB;
}

interface Placed {
  name: string;
  cx: number;
  cy: number;
  s: number;
}

function groundThings(ground: string, r: Rng): string[] {
  const table: Record<string, [string, number][]> = {
    grass: [['tree', 0.5], ['house', 0.35], ['flower', 0.4], ['cat', 0.3], ['ball', 0.3], ['fence', 0.3], ['box', 0.15], ['car', 0.15]],
    road: [['car', 0.75], ['house', 0.3], ['tree', 0.3], ['fence', 0.2]],
    water: [['boat', 0.75]],
    sand: [['umbrella', 0.5], ['ball', 0.35], ['box', 0.15], ['cat', 0.1]],
    snow: [['tree', 0.45], ['house', 0.35], ['ball', 0.2], ['fence', 0.2]],
  };
  const out: string[] = [];
  for (const [name, p] of table[ground]) if (r.chance(p)) out.push(name);
  if (out.includes('flower') && r.chance(0.6)) out.push('flower');
  return out;
}

export function composeScene(r: Rng, size: number): Scene {
  const cv = new Canvas(size);
  const gain = r.range(0.75, 1.15);
  const tint: RGB = [r.range(0.9, 1.08), r.range(0.92, 1.05), r.range(0.9, 1.1)];
  const placed: Placed[] = [];
  if (r.chance(0.18)) {
    const wallTo = size * r.range(0.45, 0.65);
    paintStuff(cv, 'brick wall', r, (_, y) => y < wallTo);
    paintStuff(cv, 'wood floor', r, (_, y) => y >= wallTo);
    for (const name of ['cat', 'ball', 'box', 'flower']) {
      if (!r.chance(name === 'flower' ? 0.2 : 0.45)) continue;
      const cy = r.range(wallTo + size * 0.08, size * 0.92);
      placed.push({ name, cx: r.range(size * 0.15, size * 0.85), cy, s: size * (0.12 + 0.25 * (cy / size)) });
    }
  } else {
    const night = r.chance(0.25);
    const horizon = size * r.range(0.32, 0.6);
    paintStuff(cv, 'sky', r, (_, y) => y < horizon + 1, night);
    if (r.chance(0.35)) {
      const peaks = Array.from({ length: 2 + r.int(3) }, () => [r.range(0, size), horizon - size * r.range(0.12, 0.3)]);
      paintStuff(cv, 'mountain', r, (x, y) => y < horizon + 1 && peaks.some(([px, py]) => y > py + Math.abs(x - px) * 0.9), night);
    }
    const ground = r.pick(['grass', 'grass', 'sand', 'snow', 'water', 'road']);
    paintStuff(cv, ground, r, (_, y) => y >= horizon);
    let water = ground === 'water';
    if (ground === 'sand' && r.chance(0.6)) {
      const to = horizon + size * r.range(0.1, 0.25);
      paintStuff(cv, 'water', r, (_, y) => y >= horizon && y < to);
      water = true;
      if (r.chance(0.5)) placed.push({ name: 'boat', cx: r.range(size * 0.2, size * 0.8), cy: (horizon + to) / 2, s: size * 0.12 });
    } else if (ground === 'grass' && r.chance(0.3)) {
      const y0 = r.range(horizon + size * 0.1, size * 0.8);
      const y1 = y0 + size * r.range(0.1, 0.18);
      paintStuff(cv, 'road', r, (_, y) => y >= y0 && y < y1);
      if (r.chance(0.6)) placed.push({ name: 'car', cx: r.range(size * 0.2, size * 0.8), cy: (y0 + y1) / 2 - size * 0.03, s: size * 0.16 });
    }
    // Sky things.
    if (night ? r.chance(0.75) : false) placed.push({ name: 'moon', cx: r.range(size * 0.15, size * 0.85), cy: r.range(size * 0.08, horizon * 0.6), s: size * r.range(0.12, 0.22) });
    if (!night && r.chance(0.45)) placed.push({ name: 'sun', cx: r.range(size * 0.1, size * 0.9), cy: r.range(size * 0.06, horizon * 0.55), s: size * r.range(0.12, 0.2) });
    if (!night) for (let k = r.int(3); k > 0; k--) placed.push({ name: 'cloud', cx: r.range(0, size), cy: r.range(size * 0.05, horizon * 0.7), s: size * r.range(0.15, 0.28) });
    if (r.chance(0.35)) for (let k = 1 + r.int(3); k > 0; k--) placed.push({ name: 'bird', cx: r.range(size * 0.1, size * 0.9), cy: r.range(size * 0.05, horizon * 0.8), s: size * r.range(0.06, 0.12) });
    if (!night && r.chance(0.25)) placed.push({ name: 'kite', cx: r.range(size * 0.15, size * 0.85), cy: r.range(size * 0.08, horizon * 0.6), s: size * r.range(0.1, 0.17) });
    // Ground things (boats only on water).
    for (const name of water && ground === 'water' ? ['boat'] : groundThings(ground, r)) {
      if (name === 'boat' && !r.chance(0.75)) continue;
      const cy = r.range(horizon + size * 0.06, size * 0.9);
      const depth = (cy - horizon) / (size - horizon);
      placed.push({ name, cx: r.range(size * 0.12, size * 0.88), cy, s: size * (0.1 + 0.22 * depth) * (name === 'house' || name === 'tree' ? 1.3 : 1) });
    }
  }
  placed.sort((a, b) => a.cy - b.cy);
  for (const p of placed) paintThing(cv, p.name, r, p.cx, p.cy, p.s);
  return { canvas: cv, gain, tint };
}

/** An image mostly showing one class, on a plausible background (for zero-shot evaluation). */
export function composeClassImage(name: string, r: Rng, size: number, stuff: readonly string[]): Scene {
  const cv = new Canvas(size);
  const gain = r.range(0.8, 1.1);
  const tint: RGB = [r.range(0.92, 1.06), r.range(0.94, 1.04), r.range(0.92, 1.08)];
  if (stuff.includes(name)) {
    if (name === 'mountain') {
      paintStuff(cv, 'sky', r, (_, y) => y < size * 0.15);
      paintStuff(cv, 'mountain', r, (_, y) => y >= size * 0.15);
    } else paintStuff(cv, name, r, () => true);
    return { canvas: cv, gain, tint };
  }
  const background: Record<string, string> = { moon: 'sky', sun: 'sky', cloud: 'sky', bird: 'sky', kite: 'sky', boat: 'water', car: 'road', umbrella: 'sand' };
  const bg = background[name] ?? r.pick(['grass', 'wood floor', 'snow']);
  paintStuff(cv, bg, r, () => true, name === 'moon');
  paintThing(cv, name, r, size * r.range(0.42, 0.58), size * r.range(0.42, 0.58), size * r.range(0.6, 0.8));
  return { canvas: cv, gain, tint };
}
