// `clips4 world generate`: a Pascal-VOC-layout dataset of synthetic scenes (JPEGImages,
// SegmentationClass indexed PNGs, ImageSets/Segmentation/{train,val}.txt), classes.json,
// captions.jsonl and single-class crops for zero-shot evaluation. Deterministic per seed; a
// finished world with the same arguments is reused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { clips4Error, ErrorCodes } from '../errors';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../io/atomic';
import { encodeIndexedPng } from '../io/png';
import { integer, optionsObject, onlyKeys, opt, string } from '../validate';
import { caption } from './captions';
import { LABEL_OFFSET, STUFF, UNKNOWN_FOLDS, WORLD_CLASSES } from './classes';
import { makeRng, deriveSeed } from '../rng';
import { composeClassImage, composeScene, type Scene } from './scene';

export interface WorldOptions {
  out: string;
  seed?: number;
  train?: number;
  val?: number;
  size?: number;
  /** Single-class crops per class for zero-shot evaluation. */
  crops?: number;
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface WorldSummary {
  dir: string;
  reused: boolean;
  images: number;
  classes: string[];
  seconds: number;
}

const MANIFEST = 'world.json';

async function writeScene(dir: string, id: string, scene: Scene, withLabel: boolean): Promise<void> {
  const { canvas } = scene;
  await sharp(canvas.toBytes(scene.gain, scene.tint), { raw: { width: canvas.size, height: canvas.size, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(path.join(dir, 'JPEGImages', `${id}.jpg`));
  if (withLabel) fs.writeFileSync(path.join(dir, 'SegmentationClass', `${id}.png`), encodeIndexedPng(canvas.label, canvas.size, canvas.size));
}

function presentClasses(label: Uint8Array): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of label) {
    const name = WORLD_CLASSES[v - LABEL_OFFSET];
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [k, v] of counts) counts.set(k, v / label.length);
  return counts;
}

export async function generateWorld(options: WorldOptions): Promise<WorldSummary> {
  const o = optionsObject('options', options);
  onlyKeys('options', o, ['out', 'seed', 'train', 'val', 'size', 'crops', 'force', 'onProgress']);
  const dir = path.resolve(string('options.out', o.out));
  const args = {
    seed: opt(o, 'seed', 0, (n, v) => integer(n, v, 0, 2 ** 32 - 1)),
    train: opt(o, 'train', 4000, (n, v) => integer(n, v, 1, 1e7)),
    val: opt(o, 'val', 500, (n, v) => integer(n, v, 1, 1e7)),
    size: opt(o, 'size', 96, (n, v) => integer(n, v, 32, 1024)),
    crops: opt(o, 'crops', 20, (n, v) => integer(n, v, 0, 10000)),
  };
  const started = Date.now();
  const manifestFile = path.join(dir, MANIFEST);
  if (fs.existsSync(manifestFile)) {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { args: typeof args; complete: boolean };
    if (m.complete && JSON.stringify(m.args) === JSON.stringify(args)) {
      return { dir, reused: true, images: args.train + args.val, classes: [...WORLD_CLASSES], seconds: 0 };
    }
  } else if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && !options.force) {
    throw clips4Error(ErrorCodes.file, `${dir} is not empty and holds no world (no ${MANIFEST}); choose another --out or pass --force`);
  }
  for (const sub of ['JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation', 'crops']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  writeJsonAtomicSync(manifestFile, { args, complete: false });

  const total = args.train + args.val;
  const ids = Array.from({ length: total }, (_, i) => `w${String(i).padStart(6, '0')}`);
  const captions: string[] = new Array(total);
  const batch = 32;
  for (let start = 0; start < total; start += batch) {
    await Promise.all(
      ids.slice(start, start + batch).map(async (id, k) => {
        const i = start + k;
        const r = makeRng(deriveSeed(args.seed, i));
        const scene = composeScene(r, args.size);
        captions[i] = JSON.stringify({ id, caption: caption(presentClasses(scene.canvas.label), r) });
        await writeScene(dir, id, scene, true);
      }),
    );
    options.onProgress?.(Math.min(total, start + batch), total);
  }
  const crops: { file: string; class: string }[] = [];
  for (let c = 0; c < WORLD_CLASSES.length; c++) {
    for (let j = 0; j < args.crops; j++) {
      const name = WORLD_CLASSES[c];
      const r = makeRng(deriveSeed(args.seed ^ 0x5eed, c * 100000 + j));
      const scene = composeClassImage(name, r, args.size, STUFF);
      const file = `crops/c${String(c).padStart(2, '0')}_${String(j).padStart(4, '0')}.jpg`;
      await sharp(scene.canvas.toBytes(scene.gain, scene.tint), { raw: { width: args.size, height: args.size, channels: 3 } }).jpeg({ quality: 90 }).toFile(path.join(dir, file));
      crops.push({ file, class: name });
    }
  }
  writeFileAtomicSync(path.join(dir, 'ImageSets/Segmentation/train.txt'), ids.slice(0, args.train).join('\n') + '\n');
  writeFileAtomicSync(path.join(dir, 'ImageSets/Segmentation/val.txt'), ids.slice(args.train).join('\n') + '\n');
  writeFileAtomicSync(path.join(dir, 'captions.jsonl'), captions.join('\n') + '\n');
  writeJsonAtomicSync(path.join(dir, 'crops.json'), crops);
  writeJsonAtomicSync(path.join(dir, 'classes.json'), { names: WORLD_CLASSES, labelOffset: LABEL_OFFSET, ignore: 255, unknownFolds: UNKNOWN_FOLDS });
  writeJsonAtomicSync(manifestFile, { args, complete: true });
  return { dir, reused: false, images: total, classes: [...WORLD_CLASSES], seconds: (Date.now() - started) / 1000 };
}
