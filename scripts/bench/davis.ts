// DAVIS label propagation at the paper's feature size (480p at stride 8: 60×107 cells, 512-d): seconds
// per (target frame, context frame) pair for the tiled native-matmul affinities, against the plain
// float loop over the same radius-12 candidates (timed on a sample of query cells, scaled to all).
import { propagateLabels, type FrameFeatures } from '../../src/eval/davis.ts';
import type { BenchResult } from './sgemm.ts';

const [D, h, w, R] = [512, 60, 107, 12];

function frame(seed: number): FrameFeatures {
  let s = seed;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return { data: Float32Array.from({ length: D * h * w }, () => r() - 0.5), dim: D, height: h, width: w };
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const frames = [frame(1), frame(2), frame(3)];
  const t0 = performance.now();
  await propagateLabels(frames, new Uint8Array(854 * 480), 854, 480, 2, {});
  // Frame 1 has one context frame, frame 2 two: three pairs.
  const tiled = (performance.now() - t0) / 1000 / 3;
  const sample = 200;
  const [q, k] = [frames[1].data, frames[0].data];
  const t1 = performance.now();
  let sink = 0;
  for (let i = 0; i < sample; i++) {
    const cell = Math.floor((i * h * w) / sample);
    const [y, x] = [Math.floor(cell / w), cell % w];
    for (let yy = Math.max(0, y - R); yy <= Math.min(h - 1, y + R); yy++) {
      for (let xx = Math.max(0, x - R); xx <= Math.min(w - 1, x + R); xx++) {
        if ((yy - y) ** 2 + (xx - x) ** 2 > R * R) continue;
        let v = 0;
        for (let d = 0; d < D; d++) v += q[d * h * w + cell] * k[d * h * w + yy * w + xx];
        sink += v;
      }
    }
  }
  const loop = (((performance.now() - t1) / 1000) * (h * w)) / sample;
  if (Number.isNaN(sink)) throw new Error('unreachable');
  emit({ name: 'davis.loop.60x107x512', metric: 'seconds per frame pair', value: loop, unit: 's' });
  emit({ name: 'davis.tiled-matmul.60x107x512', metric: 'seconds per frame pair', value: tiled, unit: 's', baseline: 'davis.loop.60x107x512', ratio: loop / tiled });
}
