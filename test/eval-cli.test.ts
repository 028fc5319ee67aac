// `clips4 eval language|knn|linear|davis` and `clips4 retrieve` end to end on the real VOC and DAVIS
// fixtures with the random-weight vit-tiny CLIP (numbers mean nothing; files, formats and the
// bookkeeping must be right), on generated Context and COCO-Stuff trees, and on bad input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import test from 'ava';
import sharp from 'sharp';
import { vocDataset } from '../src/data/datasets';
import { languageEvaluate } from '../src/eval/language';
import { Segmenter } from '../src/infer/segmenter';
import { decodeIndexedPng, encodeIndexedPng } from '../src/io/png';
import { PixelEmbedder } from '../src/net/embedder';
import { fixture, repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import=tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, CLIPS4_NUM_THREADS: '1' } });
const clipArgs = () => ['--clip', fixture('parity', 'vit-tiny.safetensors'), '--vocab', fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'), '--size', '96'];
// One temporary root for the whole file (each tmpDir adds an exit listener); a fresh folder per use.
const root = tmpDir('clips4-eval-cli-');
let folders = 0;
const scratch = (name: string) => {
  const dir = path.join(root, `${name}${folders++}`);
  fs.mkdirSync(dir);
  return dir;
};
const vocRoot = () => fixture('real', 'VOCdevkit');
const vocLabels = () => ['2007_000063', 'crop_1'].map((id) => decodeIndexedPng(fs.readFileSync(fixture('real', 'VOCdevkit/VOC2012/SegmentationClass', `${id}.png`))).data);

interface ScoreReport {
  miou: number;
  pacc: number;
  macc: number;
  per_class_iou: Record<string, number | null>;
  confusion: number[][];
  classFree?: { fold: number; unknownClasses: string[]; known: number; unknown: number; hiou: number }[];
}

/** Checks a report's scores against its own confusion matrix with the textbook formulas, and the pixel count. */
function checkScores(t: { is: (a: unknown, b: unknown, m?: string) => void; true: (v: boolean, m?: string) => void }, r: ScoreReport, classes: number, labelledPixels: number): void {
  t.is(r.confusion.length, classes);
  t.is(Object.keys(r.per_class_iou).length, classes);
  const total = r.confusion.flat().reduce((a, b) => a + b, 0);
  t.is(total, labelledPixels, 'every labelled pixel counted once, ignore (255) left out');
  const ious: number[] = [];
  let diag = 0;
  for (let c = 0; c < classes; c++) {
    const tp = r.confusion[c][c];
    diag += tp;
    const union = r.confusion[c].reduce((a, b) => a + b, 0) + r.confusion.reduce((a, row) => a + row[c], 0) - tp;
    if (union > 0) ious.push(tp / union);
  }
  t.true(Math.abs(r.miou - ious.reduce((a, b) => a + b, 0) / ious.length) < 1e-12, 'mIoU over classes present in ground truth or prediction');
  t.true(Math.abs(r.pacc - diag / total) < 1e-12, 'pAcc');
}

async function isPng(file: string): Promise<boolean> {
  return (await sharp(file).metadata()).format === 'png';
}

test('eval language on VOC with the unknown fold: Table 2 and Table 3 files', async (t) => {
  const out = scratch('eval-lang');
  const r = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--unknown', 'fold', '--out', out]);
  t.is(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ScoreReport & { images: number };
  t.is(rep.images, 2);
  checkScores(t, rep, 21, vocLabels().reduce((a, l) => a + l.filter((v) => v !== 255).length, 0));
  t.is(Object.keys(rep.per_class_iou)[0], 'background');
  t.deepEqual(rep.classFree!.map((f) => f.unknownClasses), [['potted plant', 'sheep', 'sofa', 'train', 'tv monitor']]);
  const f = rep.classFree![0];
  t.true(Math.abs(f.hiou - (f.known + f.unknown > 0 ? (2 * f.known * f.unknown) / (f.known + f.unknown) : 0)) < 1e-12);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  t.regex(md, /Table 2/);
  t.regex(md, /Table 3/);
  t.regex(md, /sofa \(unknown\)/);
  t.true(await isPng(path.join(out, 'per-class-iou.png')));
  t.true(await isPng(path.join(out, 'overlays.png')));
});

test("eval language with a variant and MaskCLIP's refinements scores what the Segmenter gives with them", async (t) => {
  const flags = ['--variant', 'clearclip', '--denoise', '0.1', '--key-smoothing', '1.01'];
  const out = scratch('eval-lang-refined');
  const r = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), ...flags, '--out', out]);
  t.is(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ScoreReport & { features: string };
  t.regex(rep.features, /clearclip variant, prompt denoising 0\.1, key smoothing 1\.01/);
  const confusion = async (variant: 'maskclip' | 'clearclip', refine: { denoise?: number; keySmoothing?: number }) => {
    const seg = await Segmenter.load({ clip: fixture('parity', 'vit-tiny.safetensors'), vocab: fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'), size: 96, variant });
    return (await languageEvaluate(seg, vocDataset(vocRoot(), 'val'), refine)).cm.rows();
  };
  t.deepEqual(rep.confusion, await confusion('clearclip', { denoise: 0.1, keySmoothing: 1.01 }));
  // Each flag changes this evaluation, so the equality above shows each was passed on.
  t.notDeepEqual(rep.confusion, await confusion('maskclip', { denoise: 0.1, keySmoothing: 1.01 }));
  t.notDeepEqual(rep.confusion, await confusion('clearclip', { denoise: 0.1 }));
  t.notDeepEqual(rep.confusion, await confusion('clearclip', { keySmoothing: 1.01 }));
  const bad = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--key-smoothing', '0.5', '--window', '64', '--stride', '32', '--out', scratch('eval-lang-bad')]);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /no sliding window\) for options\.keySmoothing/);
});

/** A tiny dataset tree: 64×48 JPEGs with raw label PNGs in the dataset's layout. */
async function makeTree(root: string, imageDir: string, labelDir: string, ids: string[], raw: (i: number, p: number) => number): Promise<number[][]> {
  fs.mkdirSync(path.join(root, imageDir), { recursive: true });
  fs.mkdirSync(path.join(root, labelDir), { recursive: true });
  const labels: number[][] = [];
  for (const [i, id] of ids.entries()) {
    const px = Buffer.alloc(64 * 48 * 3);
    for (let p = 0; p < 64 * 48; p++) px.set([(p * 7 + i * 50) % 256, (p >> 3) % 256, 100], p * 3);
    await sharp(px, { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toFile(path.join(root, imageDir, `${id}.jpg`));
    const lab = Array.from({ length: 64 * 48 }, (_, p) => raw(i, p));
    fs.writeFileSync(path.join(root, labelDir, `${id}.png`), encodeIndexedPng(Uint8Array.from(lab), 64, 48));
    labels.push(lab);
  }
  return labels;
}

test('eval language on generated Pascal Context and COCO-Stuff trees, with their folds', async (t) => {
  const ctx = scratch('ctx');
  // Raw Context labels: 0 = background (ignored by the 59-class protocol), c ≥ 1 → class c − 1.
  const ctxLabels = await makeTree(ctx, 'JPEGImages', 'SegmentationClassContext', ['a', 'b'], (i, p) => (p % 5 === 0 ? 0 : 1 + ((p >> 4) % 59)));
  fs.mkdirSync(path.join(ctx, 'ImageSets/SegmentationContext'), { recursive: true });
  fs.writeFileSync(path.join(ctx, 'ImageSets/SegmentationContext/val.txt'), 'a\nb\n');
  const out = scratch('eval-ctx');
  const r = cli(['eval', 'language', '--dataset', 'context', '--root', ctx, ...clipArgs(), '--unknown', 'fold', '--out', out]);
  t.is(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ScoreReport;
  checkScores(t, rep, 59, ctxLabels.flat().filter((v) => v !== 0).length);
  const vocab = JSON.parse(fs.readFileSync(fixture('vocab.json'), 'utf8')) as { pascal_context59_folds: string[][] };
  t.deepEqual(rep.classFree!.map((f) => f.unknownClasses), vocab.pascal_context59_folds, "the supplement's four folds");

  const coco = scratch('coco');
  const cocoLabels = await makeTree(coco, 'images/val2017', 'annotations/val2017', ['000000000001'], (_, p) => (p % 7 === 0 ? 255 : (p >> 2) % 171));
  const out2 = scratch('eval-coco');
  const r2 = cli(['eval', 'language', '--dataset', 'cocostuff', '--root', coco, ...clipArgs(), '--unknown', 'fold', '--fold', '0', '--out', out2]);
  t.is(r2.status, 0, r2.stderr);
  const rep2 = JSON.parse(fs.readFileSync(path.join(out2, 'report.json'), 'utf8')) as ScoreReport;
  checkScores(t, rep2, 171, cocoLabels.flat().filter((v) => v !== 255).length);
  t.is(rep2.classFree!.length, 1);
  t.is(rep2.classFree![0].unknownClasses.length, 15);
  t.true(rep2.classFree![0].unknownClasses.every((c) => c in rep2.per_class_iou));
  const bad = cli(['eval', 'language', '--dataset', 'cocostuff', '--root', coco, ...clipArgs(), '--unknown', 'fold', '--fold', '3', '--out', out2]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--fold expects 0\.\.0/);
});

test('eval knn and eval linear on VOC (neighbours and probe trained on the val images)', async (t) => {
  const labelled = vocLabels().reduce((a, l) => a + l.filter((v) => v !== 255).length, 0);
  const out = scratch('eval-knn');
  const r = cli(['eval', 'knn', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--train-split', 'val', '--grid', '3', '--k', '2', '--out', out]);
  t.is(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ScoreReport & { segmentsPerImage: number; k: number };
  checkScores(t, rep, 21, labelled);
  t.deepEqual([rep.segmentsPerImage, rep.k], [9, 2]);
  t.regex(fs.readFileSync(path.join(out, 'report.md'), 'utf8'), /Table 4/);
  t.true(await isPng(path.join(out, 'per-class-iou.png')));

  const out2 = scratch('eval-linear');
  const r2 = cli(['eval', 'linear', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--train-split', 'val', '--iterations', '30', '--batch', '32', '--pixels-per-image', '20', '--out', out2]);
  t.is(r2.status, 0, r2.stderr);
  const rep2 = JSON.parse(fs.readFileSync(path.join(out2, 'report.json'), 'utf8')) as ScoreReport & { trainCells: number };
  checkScores(t, rep2, 21, labelled);
  t.is(rep2.trainCells, 40);
  t.true(await isPng(path.join(out2, 'overlays.png')));
});

test('eval davis with raw colour: masks per frame, J&F and the first-mask copy baseline', async (t) => {
  const out = scratch('eval-davis');
  const frames = 4;
  const r = cli(['eval', 'davis', '--root', fixture('real', 'DAVIS'), '--features', 'rgb', '--cell', '16', '--frames', String(frames), '--context', '2', '--out', out]);
  t.is(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { propagated: { J: number; F: number; JF: number }; firstMaskCopy: { J: number; perSequence: Record<string, { J: number }> } };
  let copyJ = 0;
  const seqs = fs.readFileSync(fixture('real', 'DAVIS/ImageSets/2017/val.txt'), 'utf8').split('\n').filter(Boolean);
  for (const s of seqs) {
    const gt = Array.from({ length: frames }, (_, i) => decodeIndexedPng(fs.readFileSync(fixture('real', 'DAVIS/Annotations/480p', s, `0000${i}.png`))).data);
    const written = fs.readdirSync(path.join(out, 'pred', s)).sort();
    t.deepEqual(written, Array.from({ length: frames }, (_, i) => `0000${i}.png`));
    t.deepEqual(Array.from(decodeIndexedPng(fs.readFileSync(path.join(out, 'pred', s, '00000.png'))).data), Array.from(gt[0]), 'frame 0 keeps the given mask');
    // The copy baseline by hand: IoU of object 1 between the first mask and each later frame.
    let j = 0;
    for (let f = 1; f < frames; f++) {
      let inter = 0;
      let union = 0;
      for (let p = 0; p < gt[0].length; p++) {
        const a = gt[0][p] === 1;
        const b = gt[f][p] === 1;
        inter += a && b ? 1 : 0;
        union += a || b ? 1 : 0;
      }
      j += union ? inter / union : 1;
    }
    copyJ += j / (frames - 1) / seqs.length;
  }
  t.true(Math.abs(rep.firstMaskCopy.J - copyJ) < 1e-9);
  t.true(rep.propagated.J >= 0 && rep.propagated.J <= 1 && Math.abs(rep.propagated.JF - (rep.propagated.J + rep.propagated.F) / 2) < 1e-12);
  t.regex(fs.readFileSync(path.join(out, 'report.md'), 'utf8'), /first-mask copy \(baseline\)/);
  t.true(await isPng(path.join(out, 'jf.png')));
  t.true(await isPng(path.join(out, 'overlays.png')));
});

test('clips4 retrieve on the VOC images: contact sheet and JSON listing', async (t) => {
  const out = scratch('retrieve');
  const dir = fixture('real', 'VOCdevkit/VOC2012/JPEGImages');
  const r = cli(['retrieve', ...clipArgs(), '--classes', 'dog,airplane,chair', '--top', '3', '--out', out, dir]);
  t.is(r.status, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'retrieval.json'), 'utf8')) as { classes: Record<string, { image: string; box: number[]; score: number }[]> };
  t.deepEqual(Object.keys(json.classes), ['dog', 'airplane', 'chair']);
  for (const hits of Object.values(json.classes)) {
    t.is(hits.length, 3);
    for (let i = 1; i < hits.length; i++) t.true(hits[i - 1].score >= hits[i].score, 'best first');
    for (const h of hits) {
      const meta = await sharp(h.image).metadata();
      const [x0, y0, x1, y1] = h.box;
      t.true(x0 >= 0 && y0 >= 0 && x1 <= meta.width! && y1 <= meta.height! && x0 < x1 && y0 < y1, `box ${h.box} inside ${meta.width}×${meta.height}`);
      t.true(h.score >= -1 && h.score <= 1);
    }
  }
  const sheet = await sharp(path.join(out, 'retrieval.png')).metadata();
  t.is(sheet.format, 'png');
  t.true(sheet.height! >= 3 * 128, 'one row of cells per class');
});

test('bad input names the option at fault', (t) => {
  const out = scratch('eval-bad');
  const noRoot = cli(['eval', 'language', '--dataset', 'voc', ...clipArgs(), '--out', out]);
  t.is(noRoot.status, 2);
  t.regex(noRoot.stderr, /missing --root/);
  const badSet = cli(['eval', 'knn', '--dataset', 'imagenet', '--root', vocRoot(), ...clipArgs(), '--out', out]);
  t.is(badSet.status, 2);
  t.regex(badSet.stderr, /--dataset expects one of voc, context, cocostuff, got 'imagenet'/);
  const absent = cli(['eval', 'linear', '--dataset', 'voc', '--root', path.join(out, 'nope'), ...clipArgs(), '--out', out]);
  t.is(absent.status, 2);
  t.regex(absent.stderr, /--root .*nope is not a folder/);
  const wrongLayout = cli(['eval', 'language', '--dataset', 'context', '--root', vocRoot(), ...clipArgs(), '--out', out]);
  t.is(wrongLayout.status, 1);
  t.regex(wrongLayout.stderr, /JPEGImages.*not found|folder not found/);
  const two = cli(['eval', 'davis', '--root', fixture('real', 'DAVIS'), '--features', 'rgb', '--clip', 'x', '--out', out]);
  t.is(two.status, 2);
  t.regex(two.stderr, /exactly one feature source.*--features and --clip/);
  const badUnknown = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--unknown', 'all', '--out', out]);
  t.is(badUnknown.status, 2);
  t.regex(badUnknown.stderr, /--unknown expects none or fold/);
  const noFolder = cli(['retrieve', ...clipArgs(), '--classes', 'dog', '--out', out]);
  t.is(noFolder.status, 2);
  t.regex(noFolder.stderr, /expected one image folder/);
});

test('eval language and eval davis with a (random) trained-embedder checkpoint: projection figure, model features', async (t) => {
  const dir = scratch('eval-model');
  const model = path.join(dir, 'model.safetensors');
  // vit-tiny embeds into 32 dimensions; the model must match to be named by CLIP's text side.
  await PixelEmbedder.create({ block: 'bottleneck', layers: [1, 1, 1, 1], inner: [8, 8, 8, 8], out: [16, 16, 16, 16], stem: 8, headChannels: 16, embedDim: 32, norm: 'gn' }, { seed: 1 }).save(model);
  const out = path.join(dir, 'lang');
  const r = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--model', model, '--out', out]);
  t.is(r.status, 0, r.stderr);
  t.true(await isPng(path.join(out, 'projection.png')));
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ScoreReport & { features: string };
  t.regex(rep.features, /CLIP-S4 embedder/);
  t.regex(fs.readFileSync(path.join(out, 'report.md'), 'utf8'), /\| CLIP-S4 \|.*\n[\s\S]*projection\.png/);
  const out2 = path.join(dir, 'davis');
  const r2 = cli(['eval', 'davis', '--root', fixture('real', 'DAVIS'), '--model', model, '--size', '64', '--frames', '3', '--out', out2]);
  t.is(r2.status, 0, r2.stderr);
  const rep2 = JSON.parse(fs.readFileSync(path.join(out2, 'report.json'), 'utf8')) as { features: string; propagated: { J: number } };
  t.regex(rep2.features, /CLIP-S4 embedder .* at shorter side 64/);
  t.true(rep2.propagated.J >= 0 && rep2.propagated.J <= 1);
});

test('eval language --unknown fold scores a model only on the fold it was trained without', async (t) => {
  const dir = scratch('heldout');
  const net = { block: 'bottleneck' as const, layers: [1, 1, 1, 1], inner: [8, 8, 8, 8], out: [16, 16, 16, 16], stem: 8, headChannels: 16, embedDim: 32, norm: 'gn' as const };
  const wrong = path.join(dir, 'cat-held-out.safetensors');
  await PixelEmbedder.create(net, { seed: 1 }).save(wrong, { heldOut: ['cat'] });
  t.deepEqual(PixelEmbedder.training(wrong), { heldOut: ['cat'] });
  const r = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--model', wrong, '--unknown', 'fold', '--limit', '1', '--out', path.join(dir, 'out1')]);
  t.not(r.status, 0);
  t.regex(r.stderr, /trained with cat held out, but the fold holds potted plant, sheep, sofa, train, tv monitor/);
  const right = path.join(dir, 'fold-held-out.safetensors');
  await PixelEmbedder.create(net, { seed: 1 }).save(right, { heldOut: ['tv monitor', 'train', 'sofa', 'sheep', 'potted plant'] });
  const r2 = cli(['eval', 'language', '--dataset', 'voc', '--root', vocRoot(), ...clipArgs(), '--model', right, '--unknown', 'fold', '--limit', '1', '--out', path.join(dir, 'out2')]);
  t.is(r2.status, 0, r2.stderr);
});
