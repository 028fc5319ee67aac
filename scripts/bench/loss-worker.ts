// One pixelSegmentLoss forward+backward at the benchmark size in a fresh process, so that its peak
// resident memory can be read (peak-memory.ts). Run by scripts/bench/kernels.ts.
import { pixelSegmentLoss } from '../../src/kernels/index.ts';
import { zeros, type Tensor } from '../../src/tensor.ts';
import { peakMB } from './peak-memory.ts';

if (process.argv.includes('--help')) {
  process.stdout.write('Usage: tsx scripts/bench/loss-worker.ts <tiled|naive> [paper|demo] (internal to npm run bench kernels)\n');
  process.exit(0);
}
const impl = process.argv[2] === 'naive' ? 'naive' : 'tiled';
// paper: 16 views of 336² at stride 4 (several tiles: backward recomputes them); demo: the world's
// 16 views of 64² at stride 8 (1,024 pixels), its mean of 455 segments per batch and a memory bank of
// two batches (measured over the demo's 4,500 CLIP-S4 steps; one tile: its softmax is kept).
const demo = process.argv[3] === 'demo';
const N = demo ? 1024 : 56448;
const P = demo ? 455 : 4096;
const M = demo ? 2 * 455 : 0;
const D = demo ? 32 : 512;
function unit(n: number, seed = 7): Tensor<'float32'> {
  const t = zeros('float32', [n, D]);
  let s = seed;
  for (let i = 0; i < t.data.length; i++) t.data[i] = ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let j = 0; j < D; j++) q += t.data[i * D + j] ** 2;
    for (let j = 0; j < D; j++) t.data[i * D + j] /= Math.sqrt(q);
  }
  return t;
}
const ints = (n: number, f: (i: number) => number): Tensor<'int64'> => ({ dtype: 'int64', shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(f(i))) });
const inputs = { embeddings: unit(N), segments: unit(P), pixelSegment: ints(N, (i) => i % P), pixelGroup: ints(N, (i) => Math.floor((i % P) / 4)), segmentGroup: ints(P, (s) => Math.floor(s / 4)), ...(M ? { bank: unit(M, 11) } : {}), kappa: 10, impl } as const;
const before = peakMB();
// The demo's size takes milliseconds: the median of 21 calls after one warm-up call.
const calls = demo ? 21 : 1;
if (demo) await pixelSegmentLoss(inputs);
const times: number[] = [];
for (let c = 0; c < calls; c++) {
  const t0 = performance.now();
  await pixelSegmentLoss(inputs);
  times.push((performance.now() - t0) / 1000);
}
const seconds = times.sort((a, b) => a - b)[calls >> 1];
process.stdout.write(JSON.stringify({ impl, seconds, peakMB: peakMB(), baselineMB: before }) + '\n');
