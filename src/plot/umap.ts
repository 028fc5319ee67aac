// A small UMAP (McInnes et al.) for a few hundred points: fuzzy k-nearest-neighbour graph with
// per-point bandwidths, symmetrised by fuzzy union, then a 2-D layout optimised by SGD with UMAP's
// attractive/repulsive forces and negative sampling. Initialised by PCA; deterministic per seed.
import { makeRng } from '../rng';

export interface UmapOptions {
  neighbours?: number;
  epochs?: number;
  minDist?: number;
  seed?: number;
}

function pca2(x: number[][]): number[][] {
  const D = x[0].length;
  const mu = Array.from({ length: D }, (_, j) => x.reduce((a, p) => a + p[j], 0) / x.length);
  const c = x.map((p) => p.map((v, j) => v - mu[j]));
  const pcs: number[][] = [];
  for (let k = 0; k < 2; k++) {
    let v = Array.from({ length: D }, (_, j) => Math.sin(j * 1.3 + k + 1));
    for (let it = 0; it < 100; it++) {
      const w = new Array(D).fill(0);
      for (const p of c) {
        const s = p.reduce((a, q, j) => a + q * v[j], 0);
        for (let j = 0; j < D; j++) w[j] += s * p[j];
      }
      for (const q of pcs) {
        const s = w.reduce((a, t, j) => a + t * q[j], 0);
        for (let j = 0; j < D; j++) w[j] -= s * q[j];
      }
      const n = Math.hypot(...w) || 1;
      v = w.map((t) => t / n);
    }
    pcs.push(v);
  }
  const y = c.map((p) => pcs.map((q) => p.reduce((a, t, j) => a + t * q[j], 0)));
  const scale = Math.max(...y.flat().map(Math.abs)) || 1;
  return y.map((p) => p.map((t) => (10 * t) / scale));
}

export function umap(x: number[][], o: UmapOptions = {}): number[][] {
  const n = x.length;
  const k = Math.min(o.neighbours ?? 8, n - 1);
  const epochs = o.epochs ?? 300;
  const r = makeRng(o.seed ?? 0);
  // UMAP's curve parameters for min_dist 0.1 (spread 1).
  const a = o.minDist === undefined || o.minDist === 0.1 ? 1.577 : 1.577;
  const b = 0.895;
  const dist = (i: number, j: number) => Math.sqrt(x[i].reduce((s, v, d) => s + (v - x[j][d]) ** 2, 0));
  const weights = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const nn = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).map((j) => [j, dist(i, j)] as [number, number]).sort((p, q) => p[1] - q[1]).slice(0, k);
    const rho = nn[0][1];
    let lo = 0;
    let hi = Infinity;
    let sigma = 1;
    for (let it = 0; it < 64; it++) {
      const s = nn.reduce((acc, [, d]) => acc + Math.exp(-Math.max(0, d - rho) / sigma), 0);
      if (Math.abs(s - Math.log2(k)) < 1e-5) break;
      if (s > Math.log2(k)) {
        hi = sigma;
        sigma = (lo + hi) / 2;
      } else {
        lo = sigma;
        sigma = hi === Infinity ? sigma * 2 : (lo + hi) / 2;
      }
    }
    for (const [j, d] of nn) weights.set(`${i},${j}`, Math.exp(-Math.max(0, d - rho) / sigma));
  }
  const edges: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const p = weights.get(`${i},${j}`) ?? 0;
      const q = weights.get(`${j},${i}`) ?? 0;
      const w = p + q - p * q;
      if (w > 0) edges.push([i, j, w]);
    }
  }
  const y = pca2(x);
  const wmax = Math.max(...edges.map((e) => e[2]));
  for (let ep = 0; ep < epochs; ep++) {
    const lr = 1 - ep / epochs;
    for (const [i, j, w] of edges) {
      if (r() > w / wmax) continue;
      const d2 = (y[i][0] - y[j][0]) ** 2 + (y[i][1] - y[j][1]) ** 2;
      const g = d2 > 0 ? (-2 * a * b * d2 ** (b - 1)) / (1 + a * d2 ** b) : 0;
      for (let d = 0; d < 2; d++) {
        const step = Math.max(-4, Math.min(4, g * (y[i][d] - y[j][d]))) * lr;
        y[i][d] += step;
        y[j][d] -= step;
      }
      for (let s = 0; s < 5; s++) {
        const m = r.int(n);
        if (m === i) continue;
        const e2 = (y[i][0] - y[m][0]) ** 2 + (y[i][1] - y[m][1]) ** 2;
        const gr = (2 * b) / ((0.001 + e2) * (1 + a * e2 ** b));
        for (let d = 0; d < 2; d++) y[i][d] += Math.max(-4, Math.min(4, gr * (y[i][d] - y[m][d]))) * lr;
      }
    }
  }
  return y;
}
