// One pixelSegmentLoss forward+backward at the benchmark size in a fresh process, so that its peak
// resident memory can be read (peak-memory.ts). Run by scripts/bench/kernels.ts.
import { pixelSegmentLoss } from '../../src/kernels/index.ts';
import { zeros, type Tensor } from '../../src/tensor.ts';
import { peakMB } from './peak-memory.ts';

if (process.argv.includes('--help')) {
  process.stdout.write('Usage: tsx scripts/bench/loss-worker.ts <tiled|naive> (internal to npm run bench kernels)\n');
  process.exit(0);
}
const impl = process.argv[2] === 'naive' ? 'naive' : 'tiled';
const N = 56448;
const P = 4096;
const D = 512;
function unit(n: number): Tensor<'float32'> {
  const t = zeros('float32', [n, D]);
  let s = 7;
  for (let i = 0; i < t.data.length; i++) t.data[i] = ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let j = 0; j < D; j++) q += t.data[i * D + j] ** 2;
    for (let j = 0; j < D; j++) t.data[i * D + j] /= Math.sqrt(q);
  }
  return t;
}
const ints = (n: number, f: (i: number) => number): Tensor<'int64'> => ({ dtype: 'int64', shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(f(i))) });
const inputs = { embeddings: unit(N), segments: unit(P), pixelSegment: ints(N, (i) => i % P), pixelGroup: ints(N, (i) => Math.floor((i % P) / 4)), segmentGroup: ints(P, (s) => Math.floor(s / 4)), kappa: 10, impl } as const;
const before = peakMB();
const t0 = performance.now();
await pixelSegmentLoss(inputs);
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ impl, seconds, peakMB: peakMB(), baselineMB: before }) + '\n');
