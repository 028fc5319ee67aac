// CLIP throughput: encodeImage and denseFeatures images/s for the vit-tiny fixture and a
// ViT-B/16-sized random model at 224 and 448, with achieved GFLOP/s (analytic count of the matmuls
// and the patch convolution) as a ratio of the in-process SGEMM rate; and sliding-window dense
// features of one image (the world's shipped ResNet CLIP, 384² in windows of 192 every 96, as the
// demo's best variant is evaluated) against one CLIP pass per window, the addon's way before.
import * as path from 'node:path';
import { Clip } from '../../src/clip/clip.ts';
import { WordTokenizer } from '../../src/clip/tokenizer.ts';
import { cropImage, type Tensor, zeros } from '../../src/tensor.ts';
import { sgemmGflops, type BenchResult } from './sgemm.ts';

// FLOPs of one ViT forward at `res` (multiply-adds × 2): patch conv, per block qkv/out/mlp and attention.
function vitFlops(width: number, layers: number, patch: number, res: number, embed: number): number {
  const tokens = (res / patch) ** 2 + 1;
  const conv = 2 * 3 * patch * patch * width * (tokens - 1);
  const block = 2 * tokens * (4 * width * width + 8 * width * width) + 2 * 2 * tokens * tokens * width;
  return conv + layers * block + 2 * width * embed;
}

export async function timeIt(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await fn();
  return (performance.now() - t0) / 1000 / repeats;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const peak = await sgemmGflops();
  const fixture = path.resolve(import.meta.dirname, '../../test/fixtures/parity/vit-tiny.safetensors');
  const models: { name: string; clip: Clip; width: number; layers: number; patch: number; embed: number }[] = [];
  models.push({ name: 'vit-tiny', clip: await Clip.load(fixture, { vocab: new WordTokenizer([]) }), width: 128, layers: 2, patch: 16, embed: 32 });
  models.push({
    name: 'vit-b16-size',
    clip: await Clip.create({ kind: 'vit' }, new WordTokenizer(['a'])), // ViT-B/16's sizes (CLIP_VIT_B16)
    width: 768,
    layers: 12,
    patch: 16,
    embed: 512,
  });
  for (const m of models) {
    for (const res of [224, 448]) {
      const batch = m.name === 'vit-tiny' ? 8 : 2;
      const x = zeros('float32', [batch, 3, res, res]);
      x.data.fill(0.1);
      const flops = vitFlops(m.width, m.layers, m.patch, res, m.embed) * batch;
      if (res === 224 || m.name === 'vit-tiny') {
        const s = await timeIt(() => m.clip.encodeImage(x), m.name === 'vit-tiny' ? 5 : 2);
        const gflops = flops / s / 1e9;
        emit({ name: `clip.encodeImage.${m.name}.${res}`, metric: 'images/s', value: batch / s, unit: 'images/s' });
        emit({ name: `clip.encodeImage.${m.name}.${res}`, metric: 'achieved GFLOP/s', value: gflops, unit: 'GFLOP/s', baseline: 'sgemm', ratio: gflops / peak });
      }
      const s = await timeIt(() => m.clip.denseFeatures(x), m.name === 'vit-tiny' ? 5 : 1);
      const gflops = flops / s / 1e9;
      emit({ name: `clip.denseFeatures.${m.name}.${res}`, metric: 'images/s', value: batch / s, unit: 'images/s' });
      emit({ name: `clip.denseFeatures.${m.name}.${res}`, metric: 'achieved GFLOP/s', value: gflops, unit: 'GFLOP/s', baseline: 'sgemm', ratio: gflops / peak });
    }
  }
  await windows(emit);
}

async function windows(emit: (r: BenchResult) => void): Promise<void> {
  const clip = await Clip.load(path.resolve(import.meta.dirname, '../../data/world-clip/clip.safetensors'));
  const [side, win, step] = [384, 192, 96];
  const x = zeros('float32', [1, 3, side, side]);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.01);
  const crops: Tensor<'float32'>[] = [];
  for (let y0 = 0; y0 + win <= side; y0 += step) for (let x0 = 0; x0 + win <= side; x0 += step) crops.push(cropImage(x, 0, y0, x0, win, win));
  const name = `clip.denseFeatures.world-rn.${side}.windows${win}/${step}`;
  const perWindow = await timeIt(async () => {
    for (const c of crops) await clip.denseFeatures(c);
  }, 5);
  const stacked = await timeIt(() => clip.denseFeatures(x, { window: win, stride: step }), 5);
  emit({ name: `${name}.perWindowPasses`, metric: 'images/s', value: 1 / perWindow, unit: 'images/s' });
  emit({ name, metric: 'images/s', value: 1 / stacked, unit: 'images/s', baseline: `${name}.perWindowPasses`, ratio: perWindow / stacked });
}
