// Data pipeline throughput at the paper's sizes: 500×375 JPEGs (VOC-sized), regions (SLIC and
// Felzenszwalb, once per image), the float16 CLIP feature cache (vit-tiny fixture, once per image)
// and two-view batches at 336² with regions and cached features — the per-step work — next to the
// rate one native training step consumes samples at the same batch size (the small network of
// configs/world-small.json; the paper's ResNet-50 with CLIPS4_BENCH_PAPER_NET=1, slow on CPU); and
// the peak memory of preparing and training on 1,000 vs 5,000 images (it must not grow with the dataset).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { Clip } from '../../src/clip/clip.ts';
import { WordTokenizer } from '../../src/clip/tokenizer.ts';
import { buildClipCache, cacheKey } from '../../src/data/clip-cache.ts';
import { clipTeacher } from '../../src/train/teacher.ts';
import { felzenszwalb, slic } from '../../src/data/regions.ts';
import { DEFAULT_VIEWS, makeBatch, type Sample } from '../../src/data/views.ts';
import { loadImage, type RawImage } from '../../src/image/load.ts';
import { normalizeImages } from '../../src/image/normalize.ts';
import { resizeExact } from '../../src/image/resize.ts';
import { PAPER_NET, PixelEmbedder } from '../../src/net/embedder.ts';
import { NativeTrainer } from '../../src/train/native-trainer.ts';
import { defaultConfig } from '../../src/train/config.ts';
import { trainerOptions } from '../../src/train/options.ts';
import { makeRng } from '../../src/rng.ts';
import type { BenchResult } from './sgemm.ts';

const IMAGES = 16;
const BATCH = 8;
const CROP = 336;

/** A VOC-sized JPEG with smooth structure (upsampled noise) and fine texture, so regions are not trivial. */
async function syntheticJpeg(file: string, seed: number): Promise<void> {
  const r = makeRng(seed);
  const coarse = Buffer.from(Array.from({ length: 10 * 8 * 3 }, () => r.int(256)));
  const smooth = await sharp(coarse, { raw: { width: 10, height: 8, channels: 3 } }).resize(500, 375, { kernel: 'cubic' }).raw().toBuffer();
  for (let i = 0; i < smooth.length; i++) smooth[i] = Math.max(0, Math.min(255, smooth[i] + r.int(21) - 10));
  await sharp(smooth, { raw: { width: 500, height: 375, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
}

/**
 * A VOC-layout tree (VOC2012/JPEGImages, SegmentationClass, ImageSets/Segmentation/train.txt) of
 * `count` JPEGs with sides 100–500 px, portrait and landscape (the labels are one placeholder PNG:
 * training does not read them).
 */
export async function vocTree(root: string, count: number, seed: number): Promise<void> {
  const base = path.join(root, 'VOC2012');
  for (const d of ['JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation']) fs.mkdirSync(path.join(base, d), { recursive: true });
  const label = path.join(root, 'label.png');
  await sharp(Buffer.alloc(4), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(label);
  const r = makeRng(seed);
  const ids = Array.from({ length: count }, (_, i) => `img${String(i).padStart(6, '0')}`);
  const sizes = ids.map(() => [100 + r.int(401), 100 + r.int(401)] as const);
  for (let i = 0; i < count; i += 32) {
    await Promise.all(
      ids.slice(i, i + 32).map(async (id, k) => {
        const [W, H] = sizes[i + k];
        const q = makeRng(seed * 1_000_003 + i + k);
        const coarse = Buffer.from(Array.from({ length: 6 * 6 * 3 }, () => q.int(256)));
        await sharp(coarse, { raw: { width: 6, height: 6, channels: 3 } }).resize(W, H, { kernel: 'cubic' }).jpeg({ quality: 85 }).toFile(path.join(base, 'JPEGImages', `${id}.jpg`));
        fs.linkSync(label, path.join(base, 'SegmentationClass', `${id}.png`));
      }),
    );
  }
  fs.writeFileSync(path.join(base, 'ImageSets/Segmentation/train.txt'), ids.join('\n') + '\n');
}

async function perSecond(count: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return count / ((performance.now() - t0) / 1000);
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clips4-bench-data-'));
  try {
    const files = Array.from({ length: IMAGES }, (_, i) => path.join(dir, `img${i}.jpg`));
    await Promise.all(files.map((f, i) => syntheticJpeg(f, i)));
    const images: RawImage[] = [];
    emit({ name: 'data.decode', metric: '500x375 JPEG decode', value: await perSecond(IMAGES, async () => images.push(...(await Promise.all(files.map((f) => loadImage(f)))))), unit: 'images/s' });

    const clip = await Clip.load(path.resolve(import.meta.dirname, '../../test/fixtures/parity/vit-tiny.safetensors'), { vocab: new WordTokenizer([]) });
    const patch = clip.info.patchSize ?? 32;
    // Training preparation rounds images to whole CLIP patches (496×368) before regions and CLIP.
    const resized = await Promise.all(images.map((im) => resizeExact(im, Math.round(im.width / patch) * patch, Math.round(im.height / patch) * patch)));
    let regions: Int32Array[] = [];
    emit({ name: 'data.regions.slic', metric: 'SLIC 48 regions, 496x368', value: await perSecond(IMAGES, async () => (regions = await Promise.all(resized.map((im) => slic(im, { segments: 48 }))))), unit: 'images/s' });
    emit({ name: 'data.regions.felzenszwalb', metric: 'Felzenszwalb defaults, 496x368', value: await perSecond(IMAGES, () => Promise.all(resized.map((im) => felzenszwalb(im)))), unit: 'images/s' });
    const key = cacheKey({ teacher: clipTeacher(clip, 'maskclip', 0).id, resolution: resized[0].width, images: files });
    let cache!: Awaited<ReturnType<typeof buildClipCache>>;
    const cacheRate = await perSecond(IMAGES, async () => {
      cache = await buildClipCache(path.join(dir, 'cache'), key, IMAGES, (idx) => clip.denseFeatures(normalizeImages(idx.map((i) => resized[i]))), { batch: 8 });
    });
    emit({ name: 'data.clipCache.build', metric: `${clip.id.includes('vit-tiny') ? 'vit-tiny' : 'random vit'} features at 496x368, float16`, value: cacheRate, unit: 'images/s' });
    const [E, fh, fw] = cache.records[0].shape;
    const samples: Sample[] = resized.map((image, i) => ({ image, regions: regions[i], clip: { data: cache.read(i), E, fh, fw, cell: image.width / fw, cellY: image.height / fh } }));

    const smallNet = { layers: [1, 1, 1, 1], inner: [16, 32, 48, 64], out: [32, 64, 96, 128], stem: 16, headChannels: 64, norm: 'gn' as const };
    const paper = process.env.CLIPS4_BENCH_PAPER_NET === '1';
    const embedder = PixelEmbedder.create({ ...(paper ? PAPER_NET : smallNet), embedDim: E }, { seed: 0 });
    const views = { ...DEFAULT_VIEWS, size: CROP, stride: embedder.stride };
    const r = makeRng(1);
    const batches = 6;
    let last!: Awaited<ReturnType<typeof makeBatch>>;
    const pick = () => Array.from({ length: BATCH }, () => samples[r.int(samples.length)]);
    await makeBatch(pick(), views, r);
    const dataRate = await perSecond(batches * BATCH, async () => {
      for (let b = 0; b < batches; b++) last = await makeBatch(pick(), views, r);
    });
    emit({ name: 'data.twoView', metric: `two views at ${CROP}² with regions and cached CLIP features, batch ${BATCH}`, value: dataRate, unit: 'samples/s' });

    const rand = (n: number) => ({ dtype: 'float32' as const, shape: [n, E], data: Float32Array.from({ length: n * E }, () => r.range(-1, 1)) });
    const trainer = NativeTrainer.create(embedder.handle, trainerOptions(defaultConfig([`segments.grid=${paper ? '[6,6]' : '[3,3]'}`]), { known: rand(20), unknown: rand(32), knownText: rand(20) }));
    await trainer.step(last, 1e-3);
    const steps = paper ? 1 : 2;
    const stepRate = await perSecond(steps * BATCH, async () => {
      for (let s = 0; s < steps; s++) await trainer.step(last, 1e-3);
    });
    const net = paper ? 'paper ResNet-50 PSPNet' : 'world-small network';
    emit({ name: 'data.trainStep', metric: `native training step consumption, ${net}, batch ${BATCH} at ${CROP}²`, value: stepRate, unit: 'samples/s' });
    emit({ name: 'data.twoView', metric: 'data rate / step consumption', value: dataRate / stepRate, unit: 'x', baseline: 'data.trainStep', ratio: dataRate / stepRate });
    await memory(dir, emit);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Peak RSS of preparing and 20 training steps (data-memory-worker.ts, one process per size) on
 * generated VOC trees of two sizes: what grows with the dataset. The sizes are
 * CLIPS4_BENCH_DATA_IMAGES (default 1000,5000: 20,000 takes ~36 min on 2 cores, its regions and
 * teacher features being computed once per image). Measured 2026-12-05 (2 cores, beside other
 * jobs): 594 MB at 1,000, 606 MB at 5,000, 686 MB at 20,000 (after preparing: 512, 586, 640 MB); on
 * 2026-12-04, before the CPU block cache reused nearby sizes and the prototypes were streamed over
 * the cache: 844, 936 and 1,118 MB.
 */
async function memory(dir: string, emit: (r: BenchResult) => void): Promise<void> {
  const counts = (process.env.CLIPS4_BENCH_DATA_IMAGES ?? '1000,5000').split(',').map(Number);
  const peaks: number[] = [];
  for (const n of counts) {
    const root = path.join(dir, `voc${n}`);
    await vocTree(root, n, 7);
    const r = JSON.parse(execFileSync(process.execPath, ['--import=tsx', path.join(import.meta.dirname, 'data-memory-worker.ts'), root, path.join(root, 'cache')], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').pop()!) as { peakMB: number; prepareSeconds: number; stepSeconds: number };
    fs.rmSync(root, { recursive: true, force: true });
    peaks.push(r.peakMB);
    emit({ name: 'data.memory', metric: `peak RSS, prepare + 20 steps, ${n} images of 100–500 px`, value: r.peakMB, unit: 'MB' });
    emit({ name: 'data.memory', metric: `prepare seconds, ${n} images (regions and teacher features computed)`, value: r.prepareSeconds, unit: 's' });
  }
  const growth = peaks[peaks.length - 1] - peaks[0];
  emit({ name: 'data.memory', metric: `peak RSS growth from ${counts[0]} to ${counts[counts.length - 1]} images (target < 200)`, value: growth, unit: 'MB', baseline: `${counts[0]} images`, ratio: peaks[peaks.length - 1] / peaks[0] });
}
