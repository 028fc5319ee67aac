// Training preparation skips unreadable images with a warning naming each (or stops with strict),
// and `clips4 score-davis` scores a perfect prediction as 1.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { Clip } from '../src/clip/clip';
import { WordTokenizer } from '../src/clip/tokenizer';
import { loadImage } from '../src/image/load';
import { normalizeImages } from '../src/image/normalize';
import { CLIP_SEGMENTS, prepareTraining } from '../src/train/prepare';
import { knownPrototypes, knownPrototypeSegments, segmentMeans, sphericalKMeans } from '../src/kernels';
import { unknownPrototypes } from '../src/train/prototypes';
import { makeRng } from '../src/rng';
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

test('runs that prepare side by side in one process get their own prototypes, even in the same millisecond', async (t) => {
  // world reproduce prepares two runs of different teachers at once in one process (the controlled
  // teacher of two seeds, say). Their prototype passes each spill the segments of their teacher's
  // features to a scratch file; one shared by both (its name once came from the pid and the clock)
  // mixed one run's segments into the other's unknown prototypes when the passes overlapped. The
  // clock is held still here, so both passes start in the same millisecond, and pairs of runs are
  // tried several times (the old name failed about one pair in three).
  const dir = tmpDir('clips4-prepare-twin-');
  await generateWorld({ out: path.join(dir, 'w'), seed: 5, train: 8, val: 1, size: 48, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).slice(0, 8).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]));
  const variants = ['maskclip', 'clearclip'] as const;
  const run = (variant: (typeof variants)[number], cacheDir: string, seed: number, knownNames = ['sky', 'grass']) => prepareTraining({ files, clip, teacher: clipTeacher(clip, variant, 0), cacheDir, resize: 0, regions: { segments: 6, compactness: 10 }, knownNames, topM: 2, unknown: 3, seed });
  // Both teachers' features are in the shared cache already (made by runs of another class, whose
  // prototypes are kept apart), so that each pair below goes straight to its prototype passes.
  const shared = path.join(dir, 'shared');
  for (const variant of variants) await run(variant, shared, 0, ['water']);
  for (let seed = 1; seed <= 6; seed++) {
    const alone = [];
    for (const variant of variants) alone.push(await run(variant, path.join(dir, `alone-${variant}`), seed));
    t.notDeepEqual(alone[0].unknown.data, alone[1].unknown.data, 'the two teachers give different unknown prototypes');
    const now = Date.now;
    Date.now = () => 1_700_000_000_000;
    let together;
    try {
      together = await Promise.all(variants.map((variant) => run(variant, shared, seed)));
    } finally {
      Date.now = now;
    }
    for (const k of [0, 1]) {
      t.deepEqual(together[k].unknown.data, alone[k].unknown.data, `seed ${seed}, ${variants[k]}: unknown prototypes`);
      t.deepEqual(together[k].known.data, alone[k].known.data, `seed ${seed}, ${variants[k]}: known prototypes`);
    }
  }
  t.deepEqual(fs.readdirSync(shared).filter((f) => f.endsWith('.tmp')), [], 'no scratch file is left');
});

test('clips4 score-davis: a perfect prediction scores 1', (t) => {
  const gt = fixture('real', 'DAVIS', 'Annotations', '480p');
  const r = spawnSync(process.execPath, ['--import=tsx', path.join(repoRoot, 'src/cli/main.ts'), 'score-davis', '--pred', gt, '--gt', gt, '--json'], { encoding: 'utf8', cwd: repoRoot });
  t.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  t.is(s.J, 1);
  t.is(s.F, 1);
});

/** `n` world images of 48², a tiny ViT CLIP (patch 8), prepare options for them, and the first image at shorter side 96, normalised. */
async function teacherSetup(prefix: string, n: number) {
  const dir = tmpDir(prefix);
  await generateWorld({ out: path.join(dir, 'w'), seed: 6, train: n, val: 1, size: 48, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).slice(0, n).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 2, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]), { seed: 2 });
  const base = { files, clip, cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky'], topM: 1, unknown: 1, seed: 0 };
  const enlarged = normalizeImages([await resizeKeepAspect(await loadImage(files[0]), { shorter: 96, multipleOf: 8 })]);
  return { files, clip, base, enlarged };
}

test('the CLIP teacher gives training the features of its variant at its side (and keys their cache)', async (t) => {
  const { files, clip, base, enlarged } = await teacherSetup('clips4-prepvariant-', 2);
  const image = normalizeImages([(await loadImage(files[0]))]);
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

test('the prototypes streamed over the cache are those of every CLIP segment at once (several chunks)', async (t) => {
  // 150 images: three chunks of cache records, so a class's best segments come from several chunks
  // and the unknown prototypes are drawn over all of them. The reference clusters each image alone
  // and ranks every segment in one call (the kernels' own tests check those against naive code).
  const dir = tmpDir('clips4-prepstream-');
  const n = 150;
  await generateWorld({ out: path.join(dir, 'w'), seed: 9, train: n, val: 1, size: 32, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).sort().slice(0, n).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 32, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]), { seed: 4 });
  const knownNames = ['sky', 'grass', 'sea', 'tree'];
  const o = { files, clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 4, compactness: 10 }, knownNames, topM: 3, unknown: 7, seed: 5 };
  const p = await prepareTraining(o);
  const E = 8;
  const rows: number[] = [];
  const imageOfRow: number[] = [];
  for (const [i, s] of p.samples.entries()) {
    const { data, fh, fw } = (await loadSample(s)).clip;
    const f: Tensor<'float32'> = { dtype: 'float32', shape: [1, E, fh, fw], data };
    const km = await sphericalKMeans(f, { grid: [Math.min(CLIP_SEGMENTS.grid, fh), Math.min(CLIP_SEGMENTS.grid, fw)], iterations: CLIP_SEGMENTS.iterations, locationWeight: CLIP_SEGMENTS.locationWeight });
    const m = await segmentMeans(f, km.labels);
    m.image.data.forEach((img, k) => {
      if (img < 0) return;
      rows.push(...m.means.data.subarray(k * E, (k + 1) * E));
      imageOfRow.push(i);
    });
  }
  const S = rows.length / E;
  t.is(p.clipSegments, S);
  t.true(S > 1024, `${S} segments: more than prepare.ts ranks at once (RANK_ROWS), so the best of several batches are merged`);
  const all = Float32Array.from(rows);
  const text = await clip.textClassifier(knownNames);
  const known = await knownPrototypes({ dtype: 'float32', shape: [S, E], data: all }, text, { m: 3, logitScale: await clip.logitScale() });
  const unknown = unknownPrototypes(all, S, E, 7, makeRng(5 + 1));
  const close = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-5);
  t.true(close(p.known.data, known.data), 'known prototypes');
  t.true(close(p.unknown.data, unknown.data), 'unknown prototypes');
  // The best segments of a class are spread over the chunks (else this test would not test the merge).
  const top = await knownPrototypeSegments({ dtype: 'float32', shape: [S, E], data: all }, text, { m: 3, logitScale: await clip.logitScale() });
  // A second run reads them from the cache folder (the same numbers); other settings compute their own.
  t.is(fs.readdirSync(o.cacheDir).filter((f) => /^prototypes-.*\.safetensors$/.test(f)).length, 1);
  const again = await prepareTraining(o);
  t.deepEqual([Array.from(again.known.data), Array.from(again.unknown.data), again.clipSegments], [Array.from(p.known.data), Array.from(p.unknown.data), p.clipSegments]);
  const other = await prepareTraining({ ...o, topM: 2 });
  t.false(close(other.known.data, p.known.data), 'top-2 prototypes are not the top-3 ones');
  t.is(fs.readdirSync(o.cacheDir).filter((f) => /^prototypes-.*\.safetensors$/.test(f)).length, 2);
  // 64 cache records to a chunk (prepare.ts's CHUNK).
  const chunks = new Set(Array.from(top.data, (row) => Math.floor(imageOfRow[row] / 64)));
  t.true(chunks.size > 1, `top segments from ${chunks.size} chunk(s)`);
});

test('clip.window: the teacher slides windows over images larger than one (features as denseFeatures gives them), keyed apart', async (t) => {
  const { clip, base, enlarged } = await teacherSetup('clips4-prepwindow-', 1);
  const slid = await prepareTraining({ ...base, teacher: clipTeacher(clip, 'maskclip', 96, { window: 48, stride: 24 }) });
  const whole = await prepareTraining({ ...base, teacher: clipTeacher(clip, 'maskclip', 96) });
  t.not(slid.samples[0].clip.file, whole.samples[0].clip.file, 'windowed features have a cache of their own');
  const want = (await clip.denseFeatures(enlarged, { variant: 'maskclip', window: 48, stride: 24 })).data;
  const wholeWant = (await clip.denseFeatures(enlarged, { variant: 'maskclip' })).data;
  const got = (await loadSample(slid.samples[0])).clip.data;
  const worst = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]) / Math.max(1e-3, Math.abs(b[i]))), 0);
  t.true(worst(got, want) < 2e-3, `relative difference ${worst(got, want)} (float16 cache)`);
  t.true(worst(got, wholeWant) > 1e-2, 'windows give other features than the whole image here');
  // The image CLIP sees (96²) is no larger than a 96 window: the whole image, the same features.
  const one = await prepareTraining({ ...base, teacher: clipTeacher(clip, 'maskclip', 96, { window: 96, stride: 0 }) });
  t.true(worst((await loadSample(one.samples[0])).clip.data, wholeWant) < 2e-3);
  t.throws(() => clipTeacher(clip, 'maskclip', 96, { window: 50, stride: 0 }), { message: /multiple of the CLIP's patch \(8\) for clip.window but received 50/ });
});

test('a restart reads the first pass from the image manifest: unchanged images are not decoded again, changed ones are', async (t) => {
  const { files, clip, base } = await teacherSetup('clips4-prepmanifest-', 3);
  const run = async () => {
    const lines: string[] = [];
    const p = await prepareTraining({ ...base, teacher: clipTeacher(clip, 'maskclip', 0), log: (l) => lines.push(l) });
    return { p, lines, recalled: lines.find((l) => /images as the last run found them/.test(l)) };
  };
  const first = await run();
  t.is(first.recalled, undefined, 'nothing to recall on the first run');
  // Every set-up stage says when it is done (and, when it takes longer, how far it is and its ETA).
  for (const stage of ['images read and regions made', 'CLIP teacher features', 'prototypes: CLIP segments of the teacher features']) {
    t.true(first.lines.includes(`${stage} 3/3`), `${stage}: ${first.lines.join(' | ')}`);
  }
  const second = await run();
  t.regex(second.recalled ?? '', /^3 of 3 images/);
  t.deepEqual(second.p.samples.map((s) => [s.file, s.width, s.height]), first.p.samples.map((s) => [s.file, s.width, s.height]));
  // A file replaced by an image of another size is decoded again and used at its new size.
  await sharp({ create: { width: 40, height: 24, channels: 3, background: { r: 200, g: 10, b: 10 } } }).jpeg().toFile(files[1] + '.new.jpg');
  fs.renameSync(files[1] + '.new.jpg', files[1]);
  const third = await run();
  t.regex(third.recalled ?? '', /^2 of 3 images/);
  const changed = third.p.samples.find((s) => s.file === files[1])!;
  t.deepEqual([changed.original.width, changed.original.height], [40, 24]);
  // A damaged manifest is only a cache: the first pass runs again.
  for (const f of fs.readdirSync(base.cacheDir).filter((f) => /^images-.*\.json$/.test(f))) fs.writeFileSync(path.join(base.cacheDir, f), '{"version": 1, "images": ');
  const fourth = await run();
  t.is(fourth.recalled, undefined);
  t.deepEqual(fourth.p.samples.map((s) => [s.file, s.width, s.height]), third.p.samples.map((s) => [s.file, s.width, s.height]));
});
