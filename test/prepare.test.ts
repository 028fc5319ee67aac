// Training preparation skips unreadable images with a warning naming each (or stops with strict),
// and `clips4 score-davis` scores a perfect prediction as 1.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { WordTokenizer } from '../src/clip/tokenizer';
import { loadImage } from '../src/image/load';
import { normalizeImages } from '../src/image/normalize';
import { prepareTraining } from '../src/train/prepare';
import { loadSample } from '../src/data/sample-source';
import { clipTeacher } from '../src/train/teacher';
import { resizeKeepAspect } from '../src/image/resize';
import { zeros, type Tensor } from '../src/tensor';
import { generateWorld, WORLD_CLASSES } from '../src/world';
import { fixture, repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

test('unreadable training images are skipped with a warning, or stop the run with strict', async (t) => {
  const dir = tmpDir('clips4-prepare-');
  await generateWorld({ out: path.join(dir, 'w'), seed: 4, train: 6, val: 1, size: 48, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).slice(0, 6).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const broken = path.join(dir, 'broken.jpg');
  fs.writeFileSync(broken, fs.readFileSync(files[0]).subarray(0, 200));
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]));
  const lines: string[] = [];
  const o = { files: [...files, broken], clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky', 'grass'], topM: 2, unknown: 2, seed: 0, log: (l: string) => lines.push(l) };
  const p = await prepareTraining(o);
  t.is(p.samples.length, 6);
  t.true(lines.some((l) => l.includes(`skipping ${broken}`)));
  t.true(lines.some((l) => /1 unreadable image\(s\) skipped/.test(l)));
  await t.throwsAsync(prepareTraining({ ...o, strict: true }), { message: new RegExp(`Cannot decode image ${broken}`) });
});

test('clips4 score-davis: a perfect prediction scores 1', (t) => {
  const gt = fixture('real', 'DAVIS', 'Annotations', '480p');
  const r = spawnSync(process.execPath, ['--import=tsx', path.join(repoRoot, 'src/cli/main.ts'), 'score-davis', '--pred', gt, '--gt', gt, '--json'], { encoding: 'utf8', cwd: repoRoot });
  t.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  t.is(s.J, 1);
  t.is(s.F, 1);
});

test('the CLIP teacher gives training the features of its variant at its side (and keys their cache)', async (t) => {
  const dir = tmpDir('clips4-prepvariant-');
  await generateWorld({ out: path.join(dir, 'w'), seed: 6, train: 2, val: 1, size: 48, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).slice(0, 2).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 2, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]), { seed: 2 });
  const base = { files, clip, cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky'], topM: 1, unknown: 1, seed: 0 };
  const image = normalizeImages([(await loadImage(files[0]))]);
  const enlarged = normalizeImages([await resizeKeepAspect(await loadImage(files[0]), { shorter: 96, multipleOf: 8 })]);
  for (const [variant, side] of [['maskclip', 0], ['clearclip', 0], ['maskclip', 96]] as const) {
    const p = await prepareTraining({ ...base, teacher: clipTeacher(clip, variant, side) });
    const want = (await clip.denseFeatures(side ? enlarged : image, { variant })).data;
    t.is(p.samples[0].clip.fh, side ? 12 : 6, 'one feature per patch of the image the teacher saw');
    const s0 = await loadSample(p.samples[0]);
    t.is(s0.clip.cell, side ? 4 : 8, 'a feature cell in training-image pixels');
    const got = s0.clip.data;
    t.is(got.length, want.length);
    // The cache holds float16: agreement to its rounding.
    const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]) / Math.max(1e-3, Math.abs(want[i]))), 0);
    t.true(worst < 2e-3, `${variant}: relative difference ${worst}`);
  }
  const masked = (await clip.denseFeatures(image, { variant: 'maskclip' })).data;
  const clear = (await clip.denseFeatures(image, { variant: 'clearclip' })).data;
  t.true(masked.some((v, i) => Math.abs(v - clear[i]) > 1e-2), 'the two variants give different features here');
});

test('clusters k-means leaves empty are no CLIP segments: no zero prototype, no zero candidate', async (t) => {
  // A teacher whose features are one direction on the left half of every image and the opposite on
  // the right: the 3×3 grid's middle column starts half and half, its centroid carries no
  // embedding, and its pixels all leave for the pure columns, so 3 of the 9 clusters end empty.
  const dir = tmpDir('clips4-prepempty-');
  await generateWorld({ out: path.join(dir, 'w'), seed: 8, train: 4, val: 1, size: 48, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).slice(0, 4).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const E = 4;
  const fakeClip = {
    id: 'split-teacher',
    info: { kind: 'vit', patchSize: 8, embedDim: E },
    stride: 8,
    async denseFeatures(x: Tensor<'float32'>) {
      const [n, , H, W] = x.shape;
      const h = H / 8;
      const w = W / 8;
      const f = zeros('float32', [n, E, h, w]);
      for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) f.data[((b * E + 0) * h + y) * w + xx] = xx < w / 2 ? 1 : -1;
      return f;
    },
    async logitScale() {
      return 100;
    },
    async textClassifier(names: string[]) {
      const f = zeros('float32', [names.length, E]);
      names.forEach((_, i) => (f.data[i * E + (i % E)] = 1));
      return f;
    },
  } as unknown as Clip;
  const p = await prepareTraining({ files, clip: fakeClip, teacher: clipTeacher(fakeClip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky', 'grass'], topM: 2, unknown: 8, seed: 0 });
  t.true(p.clipSegments < 4 * 9, `${p.clipSegments} segments from 4 images of 3×3 clusters: the empty ones are left out`);
  t.is(p.clipSegments, 4 * 6);
  const norms = (m: Tensor<'float32'>) => Array.from({ length: m.shape[0] }, (_, i) => Math.hypot(...m.data.subarray(i * E, (i + 1) * E)));
  t.true(norms(p.unknown).every((n) => Math.abs(n - 1) < 1e-5), `unknown prototype norms ${norms(p.unknown).map((n) => n.toFixed(3))}`);
  t.true(norms(p.known).every((n) => Math.abs(n - 1) < 1e-5), `known prototype norms ${norms(p.known).map((n) => n.toFixed(3))}`);
});
