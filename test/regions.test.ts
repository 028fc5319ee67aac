// Region maps computed natively: Felzenszwalb matches an independent union-find reference written
// here on small random images and keeps its invariants on the real VOC images (connected regions,
// at least minSize pixels, fewer regions for a larger scale); SLIC gives about the requested
// number of connected regions; the PNG cache returns what was computed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { loadImage, type RawImage } from '../src/image/load';
import { randomImage } from './helpers/images';
import { encodeGray16Png } from '../src/io/png';
import { cachedRegions, felzenszwalb, slic } from '../src/data/regions';
import { fixture } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

process.env.CLIPS4_NUM_THREADS ??= '1';

const vocImages = (): string[] => {
  const dir = fixture('real', 'VOCdevkit', 'VOC2012', 'JPEGImages');
  return fs.readdirSync(dir).sort().map((f) => path.join(dir, f));
};

/** Number of distinct ids, checking they are exactly 0..n−1. */
function regionCount(ids: Int32Array): number {
  const seen = new Set(ids);
  const n = seen.size;
  for (let i = 0; i < n; i++) if (!seen.has(i)) throw new Error(`ids are not contiguous: ${i} is missing of ${n}`);
  return n;
}

/** Pixels per id, and the ids made of more than one (4- or 8-)connected piece. */
function pieces(ids: Int32Array, W: number, H: number, eight: boolean): { sizes: Map<number, number>; split: number[] } {
  const seen = new Uint8Array(W * H);
  const sizes = new Map<number, number>();
  const split: number[] = [];
  const started = new Set<number>();
  const steps = eight ? [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]] : [[1, 0], [-1, 0], [0, 1], [0, -1]];
  for (let s = 0; s < W * H; s++) {
    if (seen[s]) continue;
    const id = ids[s];
    if (started.has(id)) split.push(id);
    started.add(id);
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      sizes.set(id, (sizes.get(id) ?? 0) + 1);
      const x = p % W;
      const y = (p - x) / W;
      for (const [dx, dy] of steps) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
        const q = yy * W + xx;
        if (!seen[q] && ids[q] === id) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
  }
  return { sizes, split };
}

/**
 * The paper's algorithm, written plainly: merge C1, C2 along edge w when
 * w ≤ min(Int(C1) + k/|C1|, Int(C2) + k/|C2|), Int = largest MST edge so far; then join components
 * smaller than minSize along the sorted edges. No smoothing (σ = 0). Edges are listed per pixel
 * in raster order (right, down, down-right, up-right) and sorted stably, the documented order.
 */
function referenceFelzenszwalb(img: RawImage, k: number, minSize: number): Int32Array {
  const { width: W, height: H, data } = img;
  const dist = (p: number, q: number) => Math.hypot(data[3 * p] - data[3 * q], data[3 * p + 1] - data[3 * q + 1], data[3 * p + 2] - data[3 * q + 2]);
  const edges: [number, number, number][] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      for (const [dx, dy] of [[1, 0], [0, 1], [1, 1], [1, -1]]) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < W && yy >= 0 && yy < H) edges.push([dist(p, yy * W + xx), p, yy * W + xx]);
      }
    }
  }
  edges.sort((a, b) => a[0] - b[0]);
  const parent = Array.from({ length: W * H }, (_, i) => i);
  const size = new Array<number>(W * H).fill(1);
  const internal = new Array<number>(W * H).fill(0);
  const find = (x: number): number => (parent[x] === x ? x : find(parent[x]));
  const join = (a: number, b: number) => {
    parent[b] = a;
    size[a] += size[b];
  };
  for (const [w, p, q] of edges) {
    const a = find(p);
    const b = find(q);
    if (a !== b && w <= internal[a] + k / size[a] && w <= internal[b] + k / size[b]) {
      join(a, b);
      internal[a] = w;
    }
  }
  for (const [, p, q] of edges) {
    const a = find(p);
    const b = find(q);
    if (a !== b && (size[a] < minSize || size[b] < minSize)) join(a, b);
  }
  return Int32Array.from({ length: W * H }, (_, i) => find(i));
}

/** Same partition? (equal up to renaming ids) */
function samePartition(a: Int32Array, b: Int32Array): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}

test('Felzenszwalb with σ = 0 gives exactly the partition of a plain union-find reference', async (t) => {
  let cases = 0;
  for (const [seed, W, H, levels, k, minSize] of [
    [1, 9, 7, 4, 50, 1],
    [2, 12, 10, 3, 200, 4],
    [3, 16, 11, 6, 400, 6],
    [4, 7, 13, 256, 120, 3],
    [5, 20, 14, 5, 1000, 10],
  ]) {
    const img = randomImage(seed, W, H, levels);
    const got = await felzenszwalb(img, { scale: k, sigma: 0, minSize });
    const want = referenceFelzenszwalb(img, k, minSize);
    t.true(samePartition(got, want), `seed ${seed}: ${W}×${H}, k ${k}, minSize ${minSize}`);
    t.is(regionCount(got), new Set(want).size);
    cases += new Set(want).size > 1 ? 1 : 0;
  }
  t.true(cases >= 3, 'most cases have more than one region');
});

test('Felzenszwalb on the real VOC images: connected regions of at least minSize pixels, more for a smaller scale', async (t) => {
  for (const file of vocImages()) {
    const img = await loadImage(file);
    const counts: number[] = [];
    for (const scale of [100, 300, 1000]) {
      const minSize = 40;
      const ids = await felzenszwalb(img, { scale, sigma: 0.8, minSize });
      t.is(ids.length, img.width * img.height);
      const n = regionCount(ids);
      const { sizes, split } = pieces(ids, img.width, img.height, true);
      t.deepEqual(split, [], `${file} scale ${scale}: every region is one 8-connected piece`);
      t.true(Math.min(...sizes.values()) >= minSize, `${file} scale ${scale}: smallest region ${Math.min(...sizes.values())} < ${minSize}`);
      counts.push(n);
    }
    t.true(counts[0] > counts[1] && counts[1] > counts[2], `${file}: regions for scale 100/300/1000 = ${counts.join('/')}`);
    t.true(counts[2] > 1);
  }
});

test('Felzenszwalb on an image smaller than minSize gives one region', async (t) => {
  const ids = await felzenszwalb(randomImage(9, 5, 4, 256), { scale: 1, sigma: 0.8, minSize: 100 });
  t.deepEqual(Array.from(new Set(ids)), [0]);
});

test('Felzenszwalb settings and the image are validated in TypeScript', async (t) => {
  const img = randomImage(1, 4, 4, 2);
  await t.throwsAsync(felzenszwalb(img, { minSize: 0 }), { message: /Expected .* for options\.minSize but received number 0/ });
  await t.throwsAsync(felzenszwalb(img, { scale: -1 }), { message: /options\.scale/ });
  await t.throwsAsync(felzenszwalb({ width: 4, height: 4, data: new Uint8Array(40) }), { message: /Expected 48 bytes .* for image\.data but received 40/ });
});

test('SLIC on the real VOC images: the requested number of regions ±30%, each 4-connected', async (t) => {
  for (const file of vocImages()) {
    const img = await loadImage(file);
    for (const segments of [100, 200]) {
      const ids = await slic(img, { segments, compactness: 10 });
      const n = regionCount(ids);
      t.true(n >= segments * 0.7 && n <= segments * 1.3, `${file}: ${n} regions for ${segments}`);
      t.deepEqual(pieces(ids, img.width, img.height, false).split, [], `${file}: every SLIC region is connected`);
    }
  }
});

test('the region cache returns what was computed, per method and settings', async (t) => {
  const dir = tmpDir('clips4-regions-');
  const file = path.join(dir, 'a.png');
  fs.writeFileSync(file, 'stands for the image file (its path and mtime key the cache)');
  const img = randomImage(3, 40, 30, 8);
  const cache = path.join(dir, 'cache');
  const felz = await cachedRegions(cache, file, img, { method: 'felzenszwalb', scale: 200, sigma: 0.5, minSize: 5 });
  t.deepEqual(felz, await felzenszwalb(img, { scale: 200, sigma: 0.5, minSize: 5 }));
  const entries = fs.readdirSync(cache);
  t.is(entries.length, 1);
  t.true(entries[0].startsWith('a-') && entries[0].endsWith('.png'));
  t.deepEqual(await cachedRegions(cache, file, img, { method: 'felzenszwalb', scale: 200, sigma: 0.5, minSize: 5 }), felz);
  // A cached entry is read, not recomputed: replace it and the replacement comes back.
  fs.writeFileSync(path.join(cache, entries[0]), encodeGray16Png(new Uint16Array(40 * 30).fill(7), 40, 30));
  t.deepEqual(Array.from(new Set(await cachedRegions(cache, file, img, { method: 'felzenszwalb', scale: 200, sigma: 0.5, minSize: 5 }))), [7]);
  const sl = await cachedRegions(cache, file, img, { segments: 12 });
  t.deepEqual(sl, await slic(img, { segments: 12 }));
  t.is(fs.readdirSync(cache).length, 2, 'another method is another cache entry');
  await cachedRegions(cache, file, img, { method: 'felzenszwalb', scale: 201, sigma: 0.5, minSize: 5 });
  t.is(fs.readdirSync(cache).length, 3, 'other settings are another cache entry');
});
