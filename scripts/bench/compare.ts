// clips4 against PyTorch (Debian's python3-torch: the same LibTorch 1.13) on the paper's workloads,
// in one run and with the same number of threads (CLIPS4_BENCH_THREADS, default all cores: clips4's
// setThreads, and OMP_NUM_THREADS + torch.set_num_threads in the Python process). The PyTorch side is
// scripts/bench/compare/*.py, run with /usr/bin/python3 (CLIPS4_BENCH_PYTHON): OpenAI's ViT layout
// with the MaskCLIP dense path, a torchvision-layout dilated ResNet-50 + PSPNet head, a CLIP-S4
// training step in plain autograd ops, and a per-image spherical k-means loop. Each side times one
// warm-up run and then the mean of N runs; one line per workload: value = clips4's seconds, pytorch =
// PyTorch's, ratio = PyTorch / clips4 (> 1: clips4 is faster). Both sides use random weights; the
// training step and k-means read the same inputs (written to a temporary folder), so their checks
// (segment counts, losses, clusters, label agreement) compare like with like.
// CLIPS4_BENCH_QUICK=1: small sizes (112² inputs, 2 blocks / 1 block per ResNet layer, batch 2).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Clip } from '../../src/clip/clip.ts';
import { WordTokenizer } from '../../src/clip/tokenizer.ts';
import { sphericalKMeans } from '../../src/kernels/index.ts';
import { defaultThreads } from '../../src/native.ts';
import { PixelEmbedder, PAPER_NET, type NetConfig } from '../../src/net/embedder.ts';
import { makeRng, type Rng } from '../../src/rng.ts';
import { emptyCpuCache, getThreads, setThreads } from '../../src/runtime.ts';
import { defaultConfig } from '../../src/train/config.ts';
import { NativeTrainer, type TrainBatch } from '../../src/train/native-trainer.ts';
import { trainerOptions } from '../../src/train/options.ts';
import { zeros, type Tensor } from '../../src/tensor.ts';
import { timeIt } from './clip.ts';
import type { BenchResult } from './sgemm.ts';

const PYTHON = process.env.CLIPS4_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(import.meta.dirname, 'compare', 'bench.py');
// CLIPS4_BENCH_TORCH_BLAS=openmp: the PyTorch process loads OpenBLAS's OpenMP build, the one clips4
// links (README, "Using clips4 in a server"); by default it gets the system's libblas.so.3 alternative
// (Debian: OpenBLAS's pthreads build), which is what `import torch` loads there.
const OPENMP_BLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
const torchEnv = (threads: number): NodeJS.ProcessEnv => ({
  ...process.env,
  OMP_NUM_THREADS: String(threads),
  ...(process.env.CLIPS4_BENCH_TORCH_BLAS === 'openmp' ? { LD_LIBRARY_PATH: [OPENMP_BLAS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}),
});

interface CompareResult extends BenchResult {
  /** PyTorch's mean seconds (absent when the PyTorch side was skipped or failed). */
  pytorch?: number;
  threads: number;
  check: Record<string, unknown>;
}

interface TorchRun {
  seconds: number;
  runs: number[];
  check: Record<string, unknown>;
}

const quick = process.env.CLIPS4_BENCH_QUICK === '1';

// The workloads' sizes: the paper's, or small ones for a quick check.
const S = quick
  ? {
      vit: { resolution: 112, denseResolution: 224, patch: 16, width: 256, layers: 2, embed: 128, batch: 1 },
      net: { ...PAPER_NET, layers: [1, 1, 1, 1], inner: [16, 32, 64, 128], out: [64, 128, 256, 512], stem: 16, headChannels: 64, embedDim: 32 } as NetConfig,
      netResolution: 112,
      train: { pairs: 2, crop: 112, regions: 12 },
      kmeans: { batch: 2, dim: 64, sides: [28, 14] },
      repeats: { vit: 3, dense: 3, pspnet: 3, train: 2, kmeans: 3 },
    }
  : {
      vit: { resolution: 224, denseResolution: 448, patch: 16, width: 768, layers: 12, embed: 512, batch: 1 },
      net: PAPER_NET,
      netResolution: 336,
      train: { pairs: 8, crop: 336, regions: 48 },
      kmeans: { batch: 16, dim: 512, sides: [84, 42] },
      repeats: { vit: 5, dense: 3, pspnet: 3, train: 2, kmeans: 3 },
    };

function uniform(t: Tensor<'float32'>, r: Rng, lo: number, hi: number): Tensor<'float32'> {
  for (let i = 0; i < t.data.length; i++) t.data[i] = r.range(lo, hi);
  return t;
}

/** Tensors as raw files + manifest.json, for bench.py's load_tensors. */
function writeTensors(dir: string, tensors: Record<string, Tensor>): void {
  const manifest: Record<string, { dtype: string; shape: number[] }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    fs.writeFileSync(path.join(dir, `${name}.bin`), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    manifest[name] = { dtype: t.dtype, shape: t.shape };
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
}

/** Runs one PyTorch workload; throws with the script's last stderr line when it fails. */
function torchRun(workload: string, threads: number, repeats: number, sizes: object, data?: string): TorchRun {
  const args = ['-B', SCRIPT, workload, '--threads', String(threads), '--repeats', String(repeats), '--sizes', JSON.stringify(sizes)];
  if (data) args.push('--data', data);
  try {
    const out = execFileSync(PYTHON, args, { encoding: 'utf8', env: torchEnv(threads), maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop() as string) as TorchRun;
  } catch (err) {
    const e = err as { stderr?: string; code?: string; message: string };
    const last = (e.stderr ?? '').trim().split('\n').pop();
    throw new Error(e.code === 'ENOENT' ? `${PYTHON} not found` : last || e.message);
  }
}

/** Voronoi regions around `count` random seeds per image, the same map for both views of an image. */
function regionMaps(pairs: number, side: number, count: number, r: Rng): Tensor<'int32'> {
  const t = zeros('int32', [2 * pairs, side, side]);
  const plane = side * side;
  for (let b = 0; b < pairs; b++) {
    const seeds = Array.from({ length: count }, () => [r() * side, r() * side]);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        let best = 0;
        let dBest = Infinity;
        seeds.forEach(([sy, sx], i) => {
          const d = (sy - y) ** 2 + (sx - x) ** 2;
          if (d < dBest) [best, dBest] = [i, d];
        });
        t.data[b * plane + y * side + x] = best;
      }
    }
    t.data.copyWithin((b + pairs) * plane, b * plane, (b + 1) * plane);
  }
  return t;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const fromEnv = Number(process.env.CLIPS4_BENCH_THREADS);
  const threads = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultThreads();
  const before = getThreads();
  setThreads(threads); // also loads the addon, which sets OPENBLAS_CORETYPE for the Python process too
  let skipped: string | undefined;
  try {
    const probe = torchRun('probe', threads, 0, {}) as unknown as { torch: string; blas: string; openblasCoretype: string | null };
    emit({ name: 'compare.setup', metric: 'threads on each side (setThreads; OMP_NUM_THREADS and torch.set_num_threads)', value: threads, unit: 'threads', quick, pytorch: probe.torch, pytorchBlas: probe.blas, openblasCoretype: probe.openblasCoretype } as BenchResult);
  } catch (err) {
    skipped = `${PYTHON} cannot import torch (${(err as Error).message}); install Debian's python3-torch to compare`;
    emit({ name: 'compare.pytorch', metric: `skipped: ${skipped}`, value: 0, unit: 'skipped', threads } as BenchResult);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clips4-bench-compare-'));
  const r = makeRng(7);
  // clips4's seconds and checks against PyTorch's run of the same workload, as one line.
  const compare = (name: string, metric: string, seconds: number, check: Record<string, unknown>, torch: () => TorchRun, same?: (t: Record<string, unknown>) => Record<string, unknown>) => {
    const line: CompareResult = { name, metric, value: seconds, unit: 's', threads, check: { clips4: check } };
    if (!skipped) {
      try {
        emptyCpuCache(); // clips4's cached free blocks back to the system while PyTorch runs
        const t = torch();
        Object.assign(line, { baseline: 'pytorch', ratio: t.seconds / seconds, pytorch: t.seconds });
        line.check = { clips4: check, pytorch: t.check, ...(same ? same(t.check) : {}) };
      } catch (err) {
        line.check.pytorchError = (err as Error).message;
      }
    }
    emit(line);
  };
  const sameShape = (shape: number[]) => (t: Record<string, unknown>) => ({ shapesMatch: JSON.stringify(t.shape) === JSON.stringify(shape) });
  try {
    // 1–2. CLIP ViT: image embedding at its resolution, MaskCLIP dense features at twice that.
    const v = S.vit;
    const clip = await Clip.create({ kind: 'vit', embedDim: v.embed, imageResolution: v.resolution, visionWidth: v.width, visionLayers: v.layers, patchSize: v.patch, contextLength: 77, textWidth: 512, textLayers: quick ? 1 : 12 }, new WordTokenizer(['a']));
    const vitName = quick ? `vit-w${v.width}-l${v.layers}` : 'vit-b16';
    for (const dense of [false, true]) {
      const res = dense ? v.denseResolution : v.resolution;
      const x = uniform(zeros('float32', [v.batch, 3, res, res]), r, -2, 2);
      let out!: Tensor<'float32'>;
      const s = await timeIt(async () => (out = dense ? await clip.denseFeatures(x, { variant: 'maskclip' }) : await clip.encodeImage(x)), dense ? S.repeats.dense : S.repeats.vit);
      const what = dense ? `denseFeatures (maskclip) at ${res}²` : `encodeImage at ${res}²`;
      compare(`compare.clip.${dense ? 'denseFeatures' : 'encodeImage'}.${vitName}.${res}`, `seconds per call, batch ${v.batch}: ${what}`, s, { shape: out.shape }, () => torchRun(dense ? 'dense' : 'vit', threads, dense ? S.repeats.dense : S.repeats.vit, v), sameShape(out.shape));
    }

    // 3. The pixel embedding network's forward pass (eval mode).
    const embedder = PixelEmbedder.create(S.net, { seed: 0 });
    const res = S.netResolution;
    const x = uniform(zeros('float32', [1, 3, res, res]), r, -2, 2);
    let emb!: Tensor<'float32'>;
    const sNet = await timeIt(async () => (emb = await embedder.embed(x)), S.repeats.pspnet);
    const netName = quick ? 'pspnet-small' : 'pspnet-r50';
    compare(`compare.net.${netName}.${res}`, `seconds per forward, batch 1 at ${res}² (eval)`, sNet, { shape: emb.shape }, () => torchRun('pspnet', threads, S.repeats.pspnet, { net: S.net, resolution: res, batch: 1 }), sameShape(emb.shape));

    // 4. One training step: forward, k-means, losses, backward, SGD. Inputs shared with PyTorch.
    const t = S.train;
    const E = S.net.embedDim;
    const V = 2 * t.pairs;
    const clipSide = t.crop / v.patch;
    const batch: TrainBatch = {
      images: uniform(zeros('float32', [V, 3, t.crop, t.crop]), r, -2, 2),
      regions: regionMaps(t.pairs, t.crop, t.regions, r),
      ignore: zeros('uint8', [V, t.crop, t.crop]),
      clip: uniform(zeros('float32', [V, E, clipSide, clipSide]), r, -1, 1),
    };
    const proto = (n: number) => uniform(zeros('float32', [n, E]), r, -1, 1);
    const inputs = { known: proto(20), unknown: proto(64), knownText: proto(20) };
    const config = defaultConfig();
    const o = trainerOptions(config, inputs);
    const trainer = NativeTrainer.create(PixelEmbedder.create(S.net, { seed: 0 }).handle, o);
    let metrics!: Awaited<ReturnType<NativeTrainer['step']>>;
    const sTrain = await timeIt(async () => (metrics = await trainer.step(batch, config.train.lr)), S.repeats.train);
    const trainDir = path.join(dir, 'train');
    fs.mkdirSync(trainDir);
    if (!skipped) writeTensors(trainDir, { ...batch, known: inputs.known, unknown: inputs.unknown });
    const train = {
      grid: o.grid, kmeansIterations: o.kmeansIterations, locationWeight: o.locationWeight, kappa: o.kappa, bankBatches: o.bankBatches,
      temperature: o.semanticTemperature, weightContrastive: o.weightContrastive, weightEmbedding: o.weightEmbedding, weightSemantic: o.weightSemantic,
      unknownLr: o.unknownLr, lr: config.train.lr, momentum: o.momentum, weightDecay: o.weightDecay,
    };
    const stepWhat = `${t.pairs} images → ${V} views at ${t.crop}², ${o.grid[0] * o.grid[1]} k-means segments split by ${t.regions} regions, ${o.bankBatches}-batch bank, 20 known + 64 unknown prototypes`;
    const { loss, contrastive, embedding, semantic, segments } = metrics;
    compare(`compare.train.${quick ? 'small' : 'paper'}`, `seconds per training step (${netName}, train mode): ${stepWhat}`, sTrain, { loss, contrastive, embedding, semantic, segments }, () => torchRun('train', threads, S.repeats.train, { net: S.net, train }, trainDir));

    // 5. Batched spherical k-means against a per-image loop, on the same features.
    const k = S.kmeans;
    for (const side of k.sides) {
      const feats = uniform(zeros('float32', [k.batch, k.dim, side, side]), r, -0.5, 0.5);
      const opts = { grid: [6, 6] as [number, number], iterations: 10, locationWeight: 1 };
      let labels!: Tensor<'int32'>;
      const s = await timeIt(async () => (labels = (await sphericalKMeans(feats, opts)).labels), S.repeats.kmeans);
      const plane = side * side;
      const clusters = Array.from({ length: k.batch }, (_, b) => new Set(labels.data.subarray(b * plane, (b + 1) * plane)).size);
      const kmDir = path.join(dir, `kmeans${side}`);
      fs.mkdirSync(kmDir);
      if (!skipped) writeTensors(kmDir, { emb: feats, clips4Labels: labels });
      compare(`compare.kmeans.${side}`, `seconds, B=${k.batch}, D=${k.dim}, ${side}², 6x6 grid, 10 iterations: batched vs a per-image loop`, s, { clusters }, () => torchRun('kmeans', threads, S.repeats.kmeans, opts, kmDir), (p) => ({ clustersMatch: JSON.stringify(p.clusters) === JSON.stringify(clusters) }));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    setThreads(before);
  }
}
