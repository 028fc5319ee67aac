// Peak memory of training preparation and 20 training steps on a VOC-layout tree, in a process of
// its own (internal to `npm run bench data`): prepareTraining (regions, the teacher-feature cache of
// a tiny random CLIP, the prototypes) and the run's loop (batches read per step, the next one
// read while the native step runs), at the world-small network and 64-pixel views. Prints JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clip } from '../../src/clip/clip.ts';
import { WordTokenizer } from '../../src/clip/tokenizer.ts';
import { vocDataset } from '../../src/data/datasets.ts';
import { DecodedCache } from '../../src/data/decoded-cache.ts';
import { trainingBatch } from '../../src/data/sample-source.ts';
import { PixelEmbedder } from '../../src/net/embedder.ts';
import { deriveSeed } from '../../src/rng.ts';
import { defaultConfig } from '../../src/train/config.ts';
import { NativeTrainer, polyLr } from '../../src/train/native-trainer.ts';
import { netConfig, trainerOptions, viewOptions } from '../../src/train/options.ts';
import { prepareTraining } from '../../src/train/prepare.ts';
import { clipTeacher } from '../../src/train/teacher.ts';
import { peakMB } from './peak-memory.ts';

if (process.argv.length < 4 || process.argv.includes('--help')) {
  process.stdout.write('Usage: tsx scripts/bench/data-memory-worker.ts <voc root> <cache dir> (internal to npm run bench data)\n');
  process.exit(0);
}
const [root, cacheDir] = process.argv.slice(2);
const STEPS = 20;

const names = ['sky', 'grass', 'tree'];
// Saved beside the caches and loaded from there: a CLIP made in memory has an id of its own in every
// process, a file's is stable, so a second run on the same tree finds its caches (time to first step).
const clipFile = path.join(cacheDir, 'bench-clip.safetensors');
if (!fs.existsSync(clipFile)) {
  fs.mkdirSync(cacheDir, { recursive: true });
  await (await Clip.create({ kind: 'vit', embedDim: 16, imageResolution: 64, visionWidth: 64, visionLayers: 1, patchSize: 16, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts(names), { seed: 1 })).save(clipFile);
}
const clip = await Clip.load(clipFile);
const files = vocDataset(root, 'train').items.map((i) => i.image);
const baselineMB = peakMB();
const c = defaultConfig(['data.crop=64', 'data.regions=16', 'train.batch=8', 'segments.grid=[3,3]', 'segments.kmeansIterations=5', 'model.layers=[1,1,1,1]', 'model.inner=[16,32,48,64]', 'model.out=[32,64,96,128]', 'model.stem=16', 'model.headChannels=64', 'model.norm=gn']);
const t0 = performance.now();
const prepared = await prepareTraining({ files, clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir, resize: 0, regions: { segments: c.data.regions, compactness: c.data.compactness }, knownNames: names, topM: 2, unknown: 8, seed: 0 });
const prepareSeconds = (performance.now() - t0) / 1000;
const preparedMB = peakMB();
const embedder = PixelEmbedder.create(netConfig(c, clip.info.embedDim), { seed: 0 });
const trainer = NativeTrainer.create(embedder.handle, trainerOptions(c, { known: prepared.known, unknown: prepared.unknown, knownText: prepared.knownText }));
const views = viewOptions(c, embedder.stride);
const t1 = performance.now();
// As run.ts: the next batch is read while the native step runs, decoded samples kept within data.memoryCache.
const decoded = new DecodedCache(c.data.memoryCache * 2 ** 20);
let next = await trainingBatch(prepared.samples, c.train.batch, deriveSeed(0, 0), views, { cache: decoded });
for (let it = 0; it < STEPS; it++) {
  const step = trainer.step(next, polyLr(c.train.lr, it, STEPS, c.train.power));
  const following = it + 1 < STEPS ? trainingBatch(prepared.samples, c.train.batch, deriveSeed(0, it + 1), views, { cache: decoded }) : undefined;
  await step;
  if (following) next = await following;
}
const stepSeconds = (performance.now() - t1) / 1000 / STEPS;
process.stdout.write(JSON.stringify({ images: files.length, kept: prepared.samples.length, baselineMB, preparedMB, peakMB: peakMB(), prepareSeconds, stepSeconds, decodedMB: decoded.bytes / 2 ** 20 }) + '\n');
