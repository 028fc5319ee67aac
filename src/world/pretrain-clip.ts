// `clips4 world pretrain-clip`: trains a small OpenAI-layout CLIP (ViT + text transformer, word
// tokenizer) on the world's captions with the symmetric image–text contrastive loss, using the
// project's own CLIP modules, within a time budget. Reports zero-shot top-1 on single-class crops
// and the MaskCLIP-mode language-driven val mIoU.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clip } from '../clip/clip';
import { WordTokenizer } from '../clip/tokenizer';
import { writeJsonAtomicSync } from '../io/atomic';
import { normalizeImages } from '../image/normalize';
import { makeRng } from './rng';
import { cropResize } from './resample';
import { captionsById, imagePath, loadImages, readCrops, readWorld, splitIds } from './data';
import { maskclipMiou } from './evaluate';

/** Prompt templates for the world's vocabulary (words its captions use). */
export const WORLD_TEMPLATES = ['a photo of the {}.', '{}', 'there is a {} in the scene.', 'view of the {}', 'my {}!'];

export interface PretrainOptions {
  data: string;
  out: string;
  /** Wall-clock budget for the optimisation, minutes. */
  minutes?: number;
  maxSteps?: number;
  batch?: number;
  resolution?: number;
  seed?: number;
  evalImages?: number;
  /** Vision transformer width and depth, text width, peak learning rate. */
  width?: number;
  layers?: number;
  textWidth?: number;
  lr?: number;
  /** Smallest crop side as a fraction of the image (random resized crops). */
  minCrop?: number;
  log?: (line: string) => void;
}

export interface PretrainReport {
  steps: number;
  seconds: number;
  finalLoss: number;
  zeroShotTop1: number;
  maskclipMiou: number;
  weights: string;
}

export async function pretrainClip(o: PretrainOptions): Promise<PretrainReport> {
  const log = o.log ?? (() => {});
  const world = readWorld(o.data);
  const res = o.resolution ?? 48;
  const batch = o.batch ?? 64;
  const peak = o.lr ?? 2e-3;
  const minCrop = o.minCrop ?? 0.5;
  const budget = (o.minutes ?? 7) * 60;
  const maxSteps = o.maxSteps ?? Infinity;
  const r = makeRng(o.seed ?? 0);
  const ids = splitIds(o.data, 'train');
  const captions = captionsById(o.data);
  const texts = ids.map((id) => captions.get(id) ?? '');
  const tokenizer = WordTokenizer.fromTexts([...texts, ...world.names, ...WORLD_TEMPLATES.map((t) => t.replace('{}', ''))]);
  log(`pretrain-clip: ${ids.length} image–caption pairs, vocabulary ${tokenizer.vocabSize} words`);
  const images = await loadImages(ids.map((id) => imagePath(o.data, id)));
  const clip = await Clip.create(
    { kind: 'vit', embedDim: 64, imageResolution: res, visionWidth: o.width ?? 128, visionLayers: o.layers ?? 4, patchSize: 8, contextLength: 32, textWidth: o.textWidth ?? 128, textLayers: 2 },
    tokenizer,
    { seed: o.seed ?? 0 },
  );
  const started = Date.now();
  let step = 0;
  let loss = NaN;
  const warmup = 50;
  const estSteps = Math.min(maxSteps, Math.round(budget * 3));
  // Captions naming the same set of classes are indistinguishable to the text side; a batch holds at
  // most one image per set so that no pair in it is a false negative.
  const keyOf = texts.map((t) => world.names.filter((n) => ` ${t.toLowerCase().replace(/[^a-z ]/g, ' ')} `.includes(` ${n} `)).join('|'));
  const pickBatch = (): number[] => {
    const seen = new Set<string>();
    const out: number[] = [];
    for (let tries = 0; out.length < batch && tries < batch * 20; tries++) {
      const i = r.int(ids.length);
      if (seen.has(keyOf[i])) continue;
      seen.add(keyOf[i]);
      out.push(i);
    }
    while (out.length < batch) out.push(r.int(ids.length));
    return out;
  };
  while (step < maxSteps && (Date.now() - started) / 1000 < budget) {
    const pick = pickBatch();
    const views = pick.map((i) => {
      const img = images[i];
      const s = img.width * Math.sqrt(r.range(minCrop, 1));
      return cropResize(img, r.range(0, img.width - s), r.range(0, img.height - s), s, s, res, res, r.chance(0.5));
    });
    const tokens = clip.tokenize(pick.map((i) => texts[i]));
    const progress = Math.min(1, step / estSteps);
    const lr = peak * Math.min(1, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    const m = await clip.trainStep(normalizeImages(views), tokens, { lr, weightDecay: 0.05 });
    loss = m.loss;
    step++;
    if (step % 25 === 0) log(`pretrain-clip: step ${step}, loss ${loss.toFixed(3)}, batch accuracy ${(m.accuracy * 100).toFixed(0)}%, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const seconds = (Date.now() - started) / 1000;
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  await clip.save(o.out);
  const loaded = await Clip.load(o.out);
  const zeroShotTop1 = await zeroShot(loaded, o.data, world.names, res);
  const miou = await maskclipMiou(loaded, o.data, world, { templates: WORLD_TEMPLATES, limit: o.evalImages ?? 200 });
  const report = { steps: step, seconds, finalLoss: loss, zeroShotTop1, maskclipMiou: miou, weights: o.out };
  writeJsonAtomicSync(o.out.replace(/\.safetensors$/, '') + '.report.json', report);
  log(`pretrain-clip: ${step} steps in ${seconds.toFixed(0)} s; zero-shot top-1 ${(zeroShotTop1 * 100).toFixed(1)}%, MaskCLIP val mIoU ${(miou * 100).toFixed(1)}%`);
  return report;
}

/** Top-1 accuracy of zero-shot classification of the single-class crops over all classes. */
export async function zeroShot(clip: Clip, dir: string, names: string[], res: number): Promise<number> {
  const crops = readCrops(dir);
  const classifier = await clip.textClassifier(names, { templates: WORLD_TEMPLATES });
  const E = clip.info.embedDim;
  let correct = 0;
  for (let i = 0; i < crops.length; i += 64) {
    const part = crops.slice(i, i + 64);
    const imgs = (await loadImages(part.map((c) => path.join(dir, c.file)))).map((im) => cropResize(im, 0, 0, im.width, im.height, res, res));
    const emb = await clip.encodeImage(normalizeImages(imgs));
    part.forEach((c, k) => {
      let best = -1;
      let bestS = -Infinity;
      for (let j = 0; j < names.length; j++) {
        let s = 0;
        for (let e = 0; e < E; e++) s += emb.data[k * E + e] * classifier.data[j * E + e];
        if (s > bestS) {
          bestS = s;
          best = j;
        }
      }
      if (names[best] === c.class) correct++;
    });
  }
  return correct / crops.length;
}
