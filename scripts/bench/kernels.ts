// Kernels: batched spherical k-means vs the reference per-image loop (B=16, K=36, D=512, 10
// iterations, 42² and 84²), and the PSPNet-R50 forward at 336² as a ratio of the in-process SGEMM rate.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { sphericalKMeans } from '../../src/kernels/index.ts';
import { zeros, type Tensor } from '../../src/tensor.ts';
import { sgemmGflops, type BenchResult } from './sgemm.ts';

/** Uniform values in [-0.5, 0.5) from a fixed LCG: the same inputs in every run (and worker). */
export function random(shape: number[]): Tensor<'float32'> {
  const t = zeros('float32', shape);
  let s = 1;
  for (let i = 0; i < t.data.length; i++) t.data[i] = ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  return t;
}

// Conv FLOPs of ResNet-50 (OS 8) + PSP head at `res`, counted from the layer shapes.
function pspFlops(res: number): number {
  const conv = (cin: number, cout: number, k: number, h: number) => 2 * cin * cout * k * k * h * h;
  let f = conv(3, 64, 7, res / 2);
  const h = res / 8;
  const layers: [number, number, number, number][] = [[3, 64, 256, res / 4], [4, 128, 512, h], [6, 256, 1024, h], [3, 512, 2048, h]];
  let cin = 64;
  for (const [n, inner, out, hw] of layers) {
    for (let b = 0; b < n; b++) {
      f += conv(b ? out : cin, inner, 1, hw) + conv(inner, inner, 3, hw) + conv(inner, out, 1, hw);
      if (b === 0) f += conv(cin, out, 1, hw);
    }
    cin = out;
  }
  f += conv(2048 + 4 * 512, 512, 3, h) + conv(512, 512, 1, h);
  return f;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const peak = await sgemmGflops();
  // Baseline: the reference code's per-image loop (SegSort/HSG: one image at a time on normalised
  // features, mm E-step, scatter_add M-step), run natively in one call (impl 'perImage'). The second
  // line calls the batched kernel once per image, which separates batching from the formulation.
  for (const side of [42, 84]) {
    const emb = random([16, 512, side, side]);
    const opts = { grid: [6, 6] as [number, number], iterations: 10, locationWeight: 1 };
    // Best of two runs each: the first call at a new size also pays for growing the CPU block
    // cache (page faults on fresh memory), which neither implementation would pay in a training loop.
    const time = async (f: () => Promise<unknown>) => {
      let best = Infinity;
      for (let rep = 0; rep < 2; rep++) {
        const t0 = performance.now();
        await f();
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      return best;
    };
    const batched = await time(() => sphericalKMeans(emb, opts));
    const loop = await time(() => sphericalKMeans(emb, { ...opts, impl: 'perImage' }));
    const per = side * side * 512;
    const calls = await time(async () => {
      for (let b = 0; b < 16; b++) await sphericalKMeans({ dtype: 'float32', shape: [1, 512, side, side], data: emb.data.subarray(b * per, (b + 1) * per) }, opts);
    });
    emit({ name: `kernels.kmeans.${side}`, metric: 'seconds (B=16, batched)', value: batched, unit: 's', baseline: 'per-image reference loop (scatter_add M-step)', ratio: loop / batched });
    emit({ name: `kernels.kmeans.${side}.per-call`, metric: 'seconds (16 calls of B=1)', value: calls, unit: 's', baseline: 'kernels.kmeans batched', ratio: calls / batched });
  }
  // pixelSegmentLoss at N=56,448, P=4,096 D=512, forward+backward, each in its own process.
  const loss = (impl: string, scale = 'paper') => JSON.parse(execFileSync(process.execPath, ['--import=tsx', path.join(import.meta.dirname, 'loss-worker.ts'), impl, scale], { encoding: 'utf8' })) as { seconds: number; peakMB: number; baselineMB: number };
  const naive = loss('naive');
  const tiled = loss('tiled');
  emit({ name: 'kernels.pixelSegmentLoss.tiled', metric: 'seconds fwd+bwd', value: tiled.seconds, unit: 's', baseline: 'naive', ratio: tiled.seconds / naive.seconds });
  emit({ name: 'kernels.pixelSegmentLoss.tiled', metric: 'peak RSS above inputs', value: tiled.peakMB - tiled.baselineMB, unit: 'MB', baseline: 'naive', ratio: (tiled.peakMB - tiled.baselineMB) / (naive.peakMB - naive.baselineMB) });
  // At the demo's size (N=1,024, 455 segments and a bank of 910, D=32): one tile, whose softmax backward reuses.
  const naiveDemo = loss('naive', 'demo');
  const tiledDemo = loss('tiled', 'demo');
  emit({ name: 'kernels.pixelSegmentLoss.tiled.demo', metric: 'seconds fwd+bwd (median of 21)', value: tiledDemo.seconds, unit: 's', baseline: 'naive', ratio: tiledDemo.seconds / naiveDemo.seconds });
  // The PSPNet forward in a process per conv path: the default (Winograd where it applies) and
  // LibTorch's conv2d (CLIPS4_WINOGRAD=0), one after the other in this run.
  const psp = (winograd: boolean) =>
    JSON.parse(execFileSync(process.execPath, ['--import=tsx', path.join(import.meta.dirname, 'pspnet-worker.ts'), '3'], { encoding: 'utf8', env: { ...process.env, CLIPS4_WINOGRAD: winograd ? '1' : '0' } })) as { seconds: number; peakMB: number; convolutions: string };
  const fast = psp(true);
  const direct = psp(false);
  const gflops = pspFlops(336) / fast.seconds / 1e9;
  emit({ name: 'net.pspnet-r50.336', metric: 'images/s', value: 1 / fast.seconds, unit: 'images/s', convolutions: fast.convolutions } as BenchResult);
  emit({ name: 'net.pspnet-r50.336', metric: 'GFLOP/s of the direct algorithm\'s count', value: gflops, unit: 'GFLOP/s', baseline: 'sgemm', ratio: gflops / peak });
  emit({ name: 'net.pspnet-r50.336.conv-path', metric: `seconds per forward (${fast.convolutions})`, value: fast.seconds, unit: 's', baseline: 'CLIPS4_WINOGRAD=0 (LibTorch conv2d)', ratio: direct.seconds / fast.seconds });
  emit({ name: 'net.pspnet-r50.336.conv-path', metric: 'peak RSS of the process', value: fast.peakMB, unit: 'MB', baseline: 'CLIPS4_WINOGRAD=0 (LibTorch conv2d)', ratio: fast.peakMB / direct.peakMB });
}
