// Training steps on the CPU: iterations/s of the small config (configs/small.json's network, batch 4,
// 64² crops) and seconds per iteration of the paper config (PSPNet on a dilated ResNet-50, batch 8,
// 336² crops, 36 segments, 512-d). Synthetic batches (random pixels, block regions, random CLIP
// features) so that only the native step is timed: forward, k-means, losses, backward, SGD.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeTrainer } from '../../src/train/native-trainer.ts';
import { defaultConfig } from '../../src/train/config.ts';
import { trainerOptions } from '../../src/train/options.ts';
import { PixelEmbedder, PAPER_NET, type NetConfig } from '../../src/net/embedder.ts';
import { zeros, type Tensor } from '../../src/tensor.ts';
import { makeRng } from '../../src/rng.ts';
import type { BenchResult } from './sgemm.ts';

function batch(pairs: number, crop: number, stride: number, E: number, seed: number) {
  const r = makeRng(seed);
  const V = 2 * pairs;
  const s = crop / stride;
  const fill = (t: Tensor<'float32'>) => {
    for (let i = 0; i < t.data.length; i++) t.data[i] = r() * 2 - 1;
    return t;
  };
  const regions = zeros('int32', [V, crop, crop]);
  const block = Math.max(4, crop / 6);
  for (let v = 0; v < V; v++) for (let y = 0; y < crop; y++) for (let x = 0; x < crop; x++) regions.data[(v * crop + y) * crop + x] = Math.floor(y / block) * 16 + Math.floor(x / block);
  return { images: fill(zeros('float32', [V, 3, crop, crop])), regions, ignore: zeros('uint8', [V, crop, crop]), clip: fill(zeros('float32', [V, E, s, s])) };
}

async function secondsPerStep(net: NetConfig, pairs: number, crop: number, grid: [number, number], steps: number): Promise<number> {
  const embedder = PixelEmbedder.create(net, { seed: 0 });
  const E = net.embedDim;
  const known = zeros('float32', [20, E]);
  const unknown = zeros('float32', [8, E]);
  const r = makeRng(1);
  for (const t of [known, unknown]) for (let i = 0; i < t.data.length; i++) t.data[i] = r() - 0.5;
  const trainer = NativeTrainer.create(embedder.handle, trainerOptions(defaultConfig([`segments.grid=${JSON.stringify(grid)}`, 'segments.kmeansIterations=10']), { known, unknown }));
  const b = batch(pairs, crop, embedder.stride, E, 2);
  await trainer.step(b, 1e-3); // warm-up: allocations, the memory bank fills
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(b, 1e-3);
  return (performance.now() - t0) / 1000 / steps;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const small = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'configs', 'small.json'), 'utf8')) as { model: Partial<NetConfig>; train: { batch: number }; data: { crop: number }; segments: { grid: [number, number] } };
  const smallNet: NetConfig = { ...PAPER_NET, ...small.model, embedDim: 32 };
  const s = await secondsPerStep(smallNet, small.train.batch, small.data.crop, small.segments.grid, 20);
  emit({ name: 'train.small', metric: `iterations/s (configs/small.json network, batch ${small.train.batch}, ${small.data.crop}² crops)`, value: 1 / s, unit: 'it/s' });
  const p = await secondsPerStep(PAPER_NET, 8, 336, [6, 6], 1);
  emit({ name: 'train.paper', metric: 'seconds per iteration (ResNet-50 PSPNet OS8, batch 8, 336² crops, 36 segments, 512-d)', value: p, unit: 's/it' });
}
