// The kernels against small independent references written here in plain TypeScript.
import test from 'ava';
import * as fs from 'node:fs';
import * as kernels from '../src/kernels';
import { loadImage } from '../src/image';
import { slic } from '../src/data/regions';
import { zeros, type Tensor } from '../src/tensor';
import { fixture } from './helpers/fixtures';

function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

function randn(shape: number[], seed: number): Tensor<'float32'> {
  const r = rng(seed);
  const t = zeros('float32', shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = r() * 2 - 1;
  return t;
}

// Naive spherical k-means with grid initialisation, per image.
function naiveKMeans(emb: Tensor<'float32'>, gy: number, gx: number, iters: number, lw: number): Int32Array {
  const [B, D, H, W] = emb.shape;
  const K = gy * gx;
  const out = new Int32Array(B * H * W);
  for (let b = 0; b < B; b++) {
    const f: number[][] = [];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = [];
        for (let d = 0; d < D; d++) v.push(emb.data[((b * D + d) * H + y) * W + x]);
        v.push(((y + 0.5) / H - 0.5) * lw, ((x + 0.5) / W - 0.5) * lw);
        const n = Math.hypot(...v);
        f.push(v.map((a) => a / n));
      }
    }
    let lab = f.map((_, p) => Math.floor((Math.floor(p / W) * gy) / H) * gx + Math.floor(((p % W) * gx) / W));
    for (let it = 0; it < iters; it++) {
      const c = Array.from({ length: K }, () => new Array(D + 2).fill(0));
      f.forEach((v, p) => v.forEach((a, d) => (c[lab[p]][d] += a)));
      const cn = c.map((v) => {
        const n = Math.hypot(...v) || 1e-12;
        return v.map((a) => a / Math.max(n, 1e-12));
      });
      lab = f.map((v) => {
        let best = 0;
        let bs = -Infinity;
        cn.forEach((cv, k) => {
          const s = cv.reduce((a, x, d) => a + x * v[d], 0);
          if (s > bs) {
            bs = s;
            best = k;
          }
        });
        return best;
      });
    }
    lab.forEach((l, p) => (out[b * H * W + p] = l));
  }
  return out;
}

test('spherical k-means equals a naive per-image reference', async (t) => {
  const emb = randn([3, 5, 9, 11], 7);
  const r = await kernels.sphericalKMeans(emb, { grid: [3, 2], iterations: 4, locationWeight: 2 });
  t.deepEqual(r.labels.shape, [3, 9, 11]);
  t.deepEqual(Array.from(r.labels.data), Array.from(naiveKMeans(emb, 3, 2, 4, 2)));
  const ignore = zeros('uint8', [3, 9, 11]);
  ignore.data[5] = 1;
  t.is((await kernels.sphericalKMeans(emb, { grid: [3, 2], iterations: 2, locationWeight: 1, ignore })).labels.data[5], -1);
});

// Piecewise-constant embeddings (a few random directions in vertical bands) plus a little noise:
// k-means settles within a few iterations, so the batched kernel's early stop is exercised.
function banded(shape: number[], seed: number, noise: number): Tensor<'float32'> {
  const [B, D, H, W] = shape;
  const r = rng(seed);
  const t = zeros('float32', shape);
  for (let b = 0; b < B; b++) {
    const dirs = Array.from({ length: 3 }, () => Array.from({ length: D }, () => r() * 2 - 1));
    for (let d = 0; d < D; d++) {
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) t.data[((b * D + d) * H + y) * W + x] = dirs[Math.floor((x * 3) / W)][d] + noise * (r() * 2 - 1);
    }
  }
  return t;
}

test('spherical k-means on embeddings that converge early equals the naive reference', async (t) => {
  const emb = banded([2, 6, 9, 12], 3, 0.2);
  for (const iterations of [1, 3, 15]) {
    const r = await kernels.sphericalKMeans(emb, { grid: [2, 3], iterations, locationWeight: 1 });
    t.deepEqual(Array.from(r.labels.data), Array.from(naiveKMeans(emb, 2, 3, iterations, 1)), `${iterations} iterations`);
  }
});

test('batched k-means over several CPU chunks equals the per-image loop', async (t) => {
  // 20 views of 64 × 64 × 64 floats (1 MiB each) span two of the kernel's 16 MiB chunks.
  const emb = randn([20, 64, 64, 64], 9);
  const o = { grid: [6, 6] as [number, number], iterations: 8, locationWeight: 2 };
  const batched = await kernels.sphericalKMeans(emb, o);
  const loop = await kernels.sphericalKMeans(emb, { ...o, impl: 'perImage' });
  const differ = batched.labels.data.filter((l, i) => l !== loop.labels.data[i]).length;
  t.is(differ, 0, `${differ} of ${batched.labels.data.length} labels differ`);
});

test('k-means centroids are the normalised mean embedding of each final cluster, in both implementations', async (t) => {
  const emb = randn([3, 6, 8, 9], 21);
  const ignore = zeros('uint8', [3, 8, 9]);
  for (let i = 0; i < ignore.data.length; i += 5) ignore.data[i] = 1;
  const [B, D, H, W] = emb.shape;
  for (const impl of ['batched', 'perImage'] as const) {
    const r = await kernels.sphericalKMeans(emb, { grid: [2, 2], iterations: 3, locationWeight: 1, ignore, impl });
    t.deepEqual(r.centroids.shape, [B, 4, D]);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < 4; k++) {
        const sum = new Array(D).fill(0);
        for (let p = 0; p < H * W; p++) {
          if (r.labels.data[b * H * W + p] !== k) continue;
          for (let d = 0; d < D; d++) sum[d] += emb.data[(b * D + d) * H * W + p];
        }
        const norm = Math.hypot(...sum) || 1;
        for (let d = 0; d < D; d++) t.true(Math.abs(r.centroids.data[(b * 4 + k) * D + d] - sum[d] / norm) < 1e-5, `${impl} ${b} ${k} ${d}`);
      }
    }
  }
});

test('splitByRegion and segmentMeans', async (t) => {
  const labels: Tensor<'int32'> = { dtype: 'int32', shape: [2, 2, 3], data: new Int32Array([0, 0, 1, 1, 1, 1, 0, 0, 0, -1, 0, 0]) };
  const regions: Tensor<'int32'> = { dtype: 'int32', shape: [2, 2, 3], data: new Int32Array([0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1]) };
  const { segments, count } = await kernels.splitByRegion(labels, regions);
  // Pixels share an id exactly when (image, cluster, region) agree.
  const key = (i: number) => (labels.data[i] < 0 ? 'x' : `${i < 6 ? 0 : 1}:${labels.data[i]}:${regions.data[i]}`);
  for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) t.is(segments.data[i] === segments.data[j], key(i) === key(j), `${i},${j}`);
  t.is(segments.data[9], -1);
  t.is(count, new Set(Array.from({ length: 12 }, (_, i) => key(i)).filter((k) => k !== 'x')).size);
  const feats = randn([2, 4, 2, 3], 3);
  const m = await kernels.segmentMeans(feats, segments);
  t.deepEqual(m.means.shape, [count, 4]);
  for (let s = 0; s < count; s++) {
    const px = Array.from({ length: 12 }, (_, i) => i).filter((i) => segments.data[i] === s);
    const mean = [0, 1, 2, 3].map((c) => px.reduce((a, i) => a + feats.data[(Math.floor(i / 6) * 4 + c) * 6 + (i % 6)], 0));
    const n = Math.hypot(...mean);
    mean.forEach((v, c) => t.true(Math.abs(m.means.data[s * 4 + c] - v / n) < 1e-5));
    t.is(m.image.data[s], px[0] < 6 ? 0 : 1);
  }
});

/** An int64 tensor of the given values (pixel groups, segment ids). */
function ints(xs: number[]): Tensor<'int64'> {
  return { dtype: 'int64', shape: [xs.length], data: BigInt64Array.from(xs.map(BigInt)) };
}

function naiveLoss(z: number[][], pg: number[], ps: number[], v: number[][], sg: number[], bank: number[][], kappa: number): number {
  let total = 0;
  z.forEach((zi, i) => {
    const sims = [...v, ...bank].map((s) => Math.exp(kappa * s.reduce((a, x, d) => a + x * zi[d], 0)));
    let pos = 0;
    let hasOther = false;
    v.forEach((_, s) => {
      if (sg[s] === pg[i] && s !== ps[i]) hasOther = true;
    });
    v.forEach((_, s) => {
      if (hasOther ? sg[s] === pg[i] && s !== ps[i] : s === ps[i]) pos += sims[s];
    });
    total += -Math.log(pos / sims.reduce((a, b) => a + b, 0));
  });
  return total / z.length;
}

test('pixelSegmentLoss equals the naive formula; gradients match finite differences', async (t) => {
  const r = rng(5);
  const unit = (n: number, d: number) =>
    Array.from({ length: n }, () => {
      const v = Array.from({ length: d }, () => r() * 2 - 1);
      const m = Math.hypot(...v);
      return v.map((x) => x / m);
    });
  const z = unit(7, 4);
  const v = unit(5, 4);
  const bank = unit(3, 4);
  const pg = [0, 0, 1, 1, 2, 2, 3];
  const ps = [0, 1, 2, 2, 3, 4, 4];
  const sg = [0, 0, 1, 2, 2];
  const T = (rows: number[][]): Tensor<'float32'> => ({ dtype: 'float32', shape: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) });
  for (const [kappa, withBank] of [[10, true], [10, false], [100, true]] as const) {
    const res = await kernels.pixelSegmentLoss({ embeddings: T(z), pixelGroup: ints(pg), pixelSegment: ints(ps), segments: T(v), segmentGroup: ints(sg), bank: withBank ? T(bank) : undefined, kappa });
    const want = naiveLoss(z, pg, ps, v, sg, withBank ? bank : [], kappa);
    t.true(Math.abs(res.loss - want) < 1e-4 * Math.max(1, want), `κ=${kappa}: ${res.loss} vs ${want}`);
    if (kappa === 10) {
      const h = 1e-3;
      for (const [i, d] of [[0, 1], [3, 2], [6, 0]]) {
        const zp = z.map((row) => [...row]);
        zp[i][d] += h;
        const zm = z.map((row) => [...row]);
        zm[i][d] -= h;
        const fd = (naiveLoss(zp, pg, ps, v, sg, withBank ? bank : [], kappa) - naiveLoss(zm, pg, ps, v, sg, withBank ? bank : [], kappa)) / (2 * h);
        t.true(Math.abs(res.gradEmbeddings.data[i * 4 + d] - fd) < 1e-3, `dz[${i}][${d}] ${res.gradEmbeddings.data[i * 4 + d]} vs ${fd}`);
      }
      const vp = v.map((row) => [...row]);
      vp[2][1] += h;
      const vm = v.map((row) => [...row]);
      vm[2][1] -= h;
      const fdv = (naiveLoss(z, pg, ps, vp, sg, withBank ? bank : [], kappa) - naiveLoss(z, pg, ps, vm, sg, withBank ? bank : [], kappa)) / (2 * h);
      t.true(Math.abs(res.gradSegments.data[2 * 4 + 1] - fdv) < 1e-3);
    }
  }
});

test('SLIC on the real VOC images: requested count ±30%, every region connected', async (t) => {
  const dir = fixture('real', 'VOCdevkit', 'VOC2012', 'JPEGImages');
  for (const f of fs.readdirSync(dir)) {
    const img = await loadImage(`${dir}/${f}`);
    const regions = await slic(img, { segments: 100, compactness: 10 });
    const ids = new Set(regions);
    t.true(ids.size >= 70 && ids.size <= 130, `${f}: ${ids.size} regions`);
    // Connectivity: one flood fill per id covers all its pixels.
    const W = img.width;
    const seen = new Uint8Array(regions.length);
    const starts = new Map<number, number>();
    regions.forEach((id, i) => starts.has(id) || starts.set(id, i));
    const count = new Map<number, number>();
    regions.forEach((id) => count.set(id, (count.get(id) ?? 0) + 1));
    let ok = true;
    for (const [id, s] of starts) {
      const stack = [s];
      seen[s] = 1;
      let n = 0;
      while (stack.length) {
        const i = stack.pop()!;
        n++;
        for (const j of [i - 1, i + 1, i - W, i + W]) {
          if (j < 0 || j >= regions.length || seen[j] || regions[j] !== id) continue;
          if ((j === i - 1 || j === i + 1) && Math.floor(j / W) !== Math.floor(i / W)) continue;
          seen[j] = 1;
          stack.push(j);
        }
      }
      if (n !== count.get(id)) ok = false;
    }
    t.true(ok, `${f}: every region is one connected component`);
  }
});

test('tiled and naive pixelSegmentLoss agree on loss and both gradients (large κ, no other positive, empty bank)', async (t) => {
  const r = rng(11);
  const unitRows = (n: number, d: number): Tensor<'float32'> => {
    const x = zeros('float32', [n, d]);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x.data[i * d + j] = r() * 2 - 1) ** 2;
      for (let j = 0; j < d; j++) x.data[i * d + j] /= Math.sqrt(s);
    }
    return x;
  };
  for (const [kappa, withBank] of [[10, true], [10, false], [100, true], [300, false]] as const) {
    const N = 300;
    const P = 40;
    const D = 16;
    const segGroup = Array.from({ length: P }, (_, s) => (s < 30 ? Math.floor(s / 3) : 10 + s)); // groups 10+s have one segment only
    const pixSeg = Array.from({ length: N }, () => Math.floor(r() * P));
    const o = { embeddings: unitRows(N, D), pixelGroup: ints(pixSeg.map((s) => segGroup[s])), pixelSegment: ints(pixSeg), segments: unitRows(P, D), segmentGroup: ints(segGroup), bank: withBank ? unitRows(25, D) : undefined, kappa };
    const naive = await kernels.pixelSegmentLoss({ ...o, impl: 'naive' });
    // 37: several tiles, each recomputed in backward; N: one tile, whose softmax backward reuses.
    for (const tile of [37, N]) {
      const tiled = await kernels.pixelSegmentLoss({ ...o, impl: 'tiled', tile });
      t.true(Math.abs(naive.loss - tiled.loss) <= 1e-5 * Math.max(1, Math.abs(naive.loss)), `κ=${kappa} tile ${tile}: ${naive.loss} vs ${tiled.loss}`);
      const maxDiff = (a: Tensor, b: Tensor) => (a.data as Float32Array).reduce((m, x, i) => Math.max(m, Math.abs(x - (b.data as Float32Array)[i])), 0);
      t.true(maxDiff(naive.gradEmbeddings, tiled.gradEmbeddings) <= 1e-5, `κ=${kappa} tile ${tile} dz ${maxDiff(naive.gradEmbeddings, tiled.gradEmbeddings)}`);
      t.true(maxDiff(naive.gradSegments, tiled.gradSegments) <= 1e-5, `κ=${kappa} tile ${tile} dv ${maxDiff(naive.gradSegments, tiled.gradSegments)}`);
    }
  }
});

test('pixelSegmentLoss names a pixel whose own segment is not a row of segments', async (t) => {
  const rows = (n: number) => ({ ...zeros('float32', [n, 2]), data: Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? 0 : 1)) });
  for (const bad of [3, -1]) {
    const o = { embeddings: rows(3), pixelGroup: ints([0, 0, 1]), pixelSegment: ints([0, bad, 2]), segments: rows(3), segmentGroup: ints([0, 0, 1]), kappa: 10 };
    await t.throwsAsync(kernels.pixelSegmentLoss(o), { message: `Expected a segment index in [0, 3) for pixelSegment[1] but received number ${bad}`, code: 'ERR_CLIPS4_INVALID_ARG' });
  }
});
