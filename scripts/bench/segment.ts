// Segmenter throughput at 448²: concurrent calls micro-batched vs sequential single-image calls,
// with a ViT-B/16-sized random CLIP in MaskCLIP mode (the ratio is what matters, not the labels).
import sharp from 'sharp';
import { Clip } from '../../src/clip/clip.ts';
import { WordTokenizer } from '../../src/clip/tokenizer.ts';
import { CLIP_MEAN, CLIP_STD } from '../../src/image/normalize.ts';
import { Segmenter } from '../../src/infer/segmenter.ts';
import type { BenchResult } from './sgemm.ts';

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const clip = await Clip.create({ kind: 'vit', embedDim: 512, imageResolution: 224, visionWidth: 768, visionLayers: 12, patchSize: 16, contextLength: 16, textWidth: 256, textLayers: 2 }, new WordTokenizer(['cat', 'dog', 'grass']));
  const encoder = { multipleOf: 16, mean: CLIP_MEAN, std: CLIP_STD, encode: (x: Parameters<typeof clip.denseFeatures>[0]) => clip.denseFeatures(x) };
  const images = await Promise.all(Array.from({ length: 8 }, (_, i) => sharp({ create: { width: 448, height: 448, channels: 3, background: { r: 30 * i, g: 100, b: 200 - 20 * i } } }).png().toBuffer()));
  const classes = ['cat', 'dog', 'grass'];
  // Each mode is warmed up at its own batch size (the first batch of a new shape also grows the CPU
  // block cache), then timed as the better of two passes over the 8 images.
  const rate = async (pass: () => Promise<unknown>) => {
    await pass();
    let best = 0;
    for (let rep = 0; rep < 2; rep++) {
      const t0 = performance.now();
      await pass();
      best = Math.max(best, images.length / ((performance.now() - t0) / 1000));
    }
    return best;
  };
  const seq = new Segmenter(encoder, clip, { size: 448, batchSize: 1 });
  const sequential = await rate(async () => {
    for (const img of images) await seq.segment(img, { classes });
  });
  const batched = new Segmenter(encoder, clip, { size: 448, batchSize: 4, maxWaitMs: 20 });
  const micro = await rate(() => Promise.all(images.map((img) => batched.segment(img, { classes }))));
  emit({ name: 'segment.sequential.448', metric: 'images/s', value: sequential, unit: 'images/s' });
  emit({ name: 'segment.microbatched.448', metric: 'images/s', value: micro, unit: 'images/s', baseline: 'segment.sequential.448', ratio: micro / sequential });
}
