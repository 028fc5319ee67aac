// `clips4 world pretrain-clip`: trains a small OpenAI-layout CLIP (ViT + text transformer, word
// tokenizer) on the world's captions with the symmetric image–text contrastive loss, using the
// project's own CLIP modules, within a time budget. Reports zero-shot top-1 on single-class crops
// and the MaskCLIP-mode language-driven val mIoU.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clip } from '../clip/clip';
import { WordTokenizer } from '../clip/tokenizer';
import { writeJsonAtomicSync } from '../io/atomic';
import type { RawImage } from '../image/load';
import { normalizeImages } from '../image/normalize';
import { number } from '../validate';
import { caption } from './captions';
import { makeRng, type Rng } from '../rng';
import { cropResize } from '../image/resample';
import { captionsById, imagePath, loadImages, readClassLabels, readCrops, readWorld, splitIds } from './data';
import { worldDataset } from '../data/datasets';
import { languageEvaluate } from '../eval/language';
import { loadImage } from '../image/load';
import { Segmenter } from '../infer/segmenter';

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
  /** Image encoder: a ViT (patch 8) or OpenAI's ModifiedResNet (stride 32, attention pool). */
  kind?: 'vit' | 'resnet';
  /** ResNet blocks per stage (kind resnet). */
  resnetLayers?: number[];
  /**
   * Side the images are resized to for dense features (MaskCLIP evaluation); 0 = their own. A
   * ResNet's stride 32 gives 3×3 features on a 96-pixel image, so the world's ResNet teacher sees
   * its images enlarged.
   */
  denseSide?: number;
  /** Vision width and depth (ViT), text width, peak learning rate. */
  width?: number;
  layers?: number;
  textWidth?: number;
  lr?: number;
  /** Smallest crop side as a fraction of the image (random resized crops). */
  minCrop?: number;
  /**
   * Fraction of each batch that is region crops captioned with what they show: a random square
   * (side a fraction `cropSide` of the image) named by the classes covering at least `minShare`
   * of it, in the captions' templates. Still image–caption pairs (the generator knows what it
   * painted where), never masks.
   */
  cropPairs?: number;
  cropSide?: [number, number];
  minShare?: number;
  log?: (line: string) => void;
}

export interface PretrainReport {
  /** The options that reproduce this run (besides data and out). */
  options: Omit<PretrainOptions, 'data' | 'out' | 'log'>;
  world: unknown;
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
  const cropPairs = number('cropPairs', o.cropPairs ?? 0, 0, 1);
  const [sideLo, sideHi] = o.cropSide ?? [0.2, 0.5];
  const minShare = o.minShare ?? 0.15;
  const budget = (o.minutes ?? 7) * 60;
  const maxSteps = o.maxSteps ?? Infinity;
  const r = makeRng(o.seed ?? 0);
  const ids = splitIds(o.data, 'train');
  const captions = captionsById(o.data);
  const texts = ids.map((id) => captions.get(id) ?? '');
  const tokenizer = WordTokenizer.fromTexts([...texts, ...world.names, ...WORLD_TEMPLATES.map((t) => t.replace('{}', ''))]);
  log(`pretrain-clip: ${ids.length} image–caption pairs, vocabulary ${tokenizer.vocabSize} words`);
  const images = await loadImages(ids.map((id) => imagePath(o.data, id)));
  const labels = cropPairs > 0 ? ids.map((id) => readClassLabels(o.data, id, world.labelOffset)) : [];
  const vision = (o.kind ?? 'vit') === 'vit' ? { kind: 'vit' as const, visionWidth: o.width ?? 128, visionLayers: o.layers ?? 4, patchSize: 8 } : { kind: 'resnet' as const, visionWidth: o.width ?? 32, resnetLayers: o.resnetLayers ?? [1, 1, 1, 1] };
  const clip = await Clip.create(
    { ...vision, embedDim: 64, imageResolution: res, contextLength: 32, textWidth: o.textWidth ?? 128, textLayers: 2 },
    tokenizer,
    { seed: o.seed ?? 0 },
  );
  const started = Date.now();
  let step = 0;
  let loss = NaN;
  const warmup = 50;
  const estSteps = Math.min(maxSteps, Math.round(budget * 3));
  // Captions naming the same set of classes are indistinguishable to the text side; a batch holds at
  // most one pair per set so that no pair in it is a false negative.
  const keyOf = (t: string) => world.names.filter((n) => ` ${t.toLowerCase().replace(/[^a-z ]/g, ' ')} `.includes(` ${n} `)).join('|');
  const imageKeys = texts.map(keyOf);
  const pickBatch = (): { view: RawImage; text: string }[] => {
    const seen = new Set<string>();
    const out: { view: RawImage; text: string }[] = [];
    for (let tries = 0; out.length < batch && tries < batch * 20; tries++) {
      const i = r.int(ids.length);
      const img = images[i];
      let pair: { view: RawImage; text: string; key: string };
      if (r.chance(cropPairs)) {
        pair = regionCrop(img, labels[i], world.names, r, res, [sideLo, sideHi], minShare);
        pair.key = keyOf(pair.text);
      } else {
        const side = img.width * Math.sqrt(r.range(minCrop, 1));
        pair = { view: cropResize(img, r.range(0, img.width - side), r.range(0, img.height - side), side, side, res, res, r.chance(0.5)), text: texts[i], key: imageKeys[i] };
      }
      if (seen.has(pair.key)) continue;
      seen.add(pair.key);
      out.push(pair);
    }
    return out;
  };
  while (step < maxSteps && (Date.now() - started) / 1000 < budget) {
    const pairs = pickBatch();
    const views = pairs.map((p) => p.view);
    const tokens = clip.tokenize(pairs.map((p) => p.text));
    const progress = Math.min(1, step / estSteps);
    const lr = peak * Math.min(1, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    const m = await clip.trainStep(normalizeImages(views), tokens, { lr, weightDecay: 0.05 });
    loss = m.loss;
    step++;
    if (step % 25 === 0) log(`pretrain-clip: step ${step}, loss ${loss.toFixed(3)}, batch accuracy ${(m.accuracy * 100).toFixed(0)}%, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const seconds = (Date.now() - started) / 1000;
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  // Stored in float16 like OpenAI's releases (half the size); every number below is measured on the stored file.
  await clip.save(o.out, { dtype: 'float16' });
  const loaded = await Clip.load(o.out);
  const zeroShotTop1 = await zeroShot(loaded, o.data, world.names, res);
  // MaskCLIP mode through the Segmenter, as `clips4 eval language` and `world reproduce` score it.
  const val = worldDataset(o.data, 'val');
  const seg = await Segmenter.load({ clip: o.out, size: o.denseSide || (await loadImage(val.items[0].image)).height });
  const miou = (await languageEvaluate(seg, { ...val, items: val.items.slice(0, o.evalImages ?? 200) }, { templates: WORLD_TEMPLATES })).cm.miou();
  const { data: _data, out: _out, log: _log, ...options } = o;
  // The world it was trained on (its generator arguments), so the run can be repeated from scratch.
  const worldFile = path.join(o.data, 'world.json');
  const worldArgs = fs.existsSync(worldFile) ? (JSON.parse(fs.readFileSync(worldFile, 'utf8')) as { args: unknown }).args : undefined;
  const report = { options, world: worldArgs, steps: step, seconds, finalLoss: loss, zeroShotTop1, maskclipMiou: miou, weights: o.out };
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

/**
 * A random square of `img` (side a fraction `side` of the image, mirrored half the time) and a
 * caption naming the classes that cover at least `minShare` of it (the largest one always).
 */
export function regionCrop(img: RawImage, label: { data: Uint8Array; width: number }, names: string[], r: Rng, res: number, side: [number, number], minShare: number): { view: RawImage; text: string; key: string; box: { x0: number; y0: number; s: number } } {
  const s = Math.round(img.width * r.range(side[0], side[1]));
  const x0 = r.int(img.width - s + 1);
  const y0 = r.int(img.height - s + 1);
  const counts = new Map<number, number>();
  for (let y = y0; y < y0 + s; y++) {
    for (let x = x0; x < x0 + s; x++) {
      const c = label.data[y * label.width + x];
      if (c !== 255) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const present = new Map<string, number>();
  ranked.forEach(([c, n], k) => {
    if (k === 0 || n >= minShare * s * s) present.set(names[c], 1);
  });
  return { view: cropResize(img, x0, y0, s, s, res, res, r.chance(0.5)), text: caption(present, r), key: '', box: { x0, y0, s } };
}
