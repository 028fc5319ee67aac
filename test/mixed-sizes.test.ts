// Images of mixed sizes keep their own size and aspect (issue #17): the teacher's features are
// cached per image at its aspect, and over iterations the views of each image reach both ends of
// its long side (no dataset-wide centre crop). Samples hold only where their data is; a batch loads
// it, and for equal squares gives the batch the in-memory samples gave.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { Clip } from '../src/clip/clip';
import { WordTokenizer } from '../src/clip/tokenizer';
import { readCacheRecords } from '../src/data/clip-cache';
import { regionsFor } from '../src/data/region-source';
import { DecodedCache } from '../src/data/decoded-cache';
import { loadSample, trainingBatch, type SampleRef } from '../src/data/sample-source';
import { keepAspectSize as usedSize } from '../src/image/resize';
import { DEFAULT_VIEWS, makeBatch, sampleGeometry, sourcePoint, type Sample, type ViewGeometry } from '../src/data/views';
import { loadImage } from '../src/image/load';
import { CLIP_MEAN, CLIP_STD, normalizeImages } from '../src/image/normalize';
import { resizeKeepAspect } from '../src/image/resize';
import { makeRng } from '../src/rng';
import { prepareTraining } from '../src/train/prepare';
import { clipTeacher } from '../src/train/teacher';
import { generateWorld, WORLD_CLASSES } from '../src/world';
import { tmpDir } from './helpers/tmp';
import { warpFeatures } from './helpers/views-reference';

const tinyClip = () => Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]), { seed: 3 });

/** A PNG whose red channel is the x coordinate (0 at the left edge, 255 at the right) and green the y. */
async function ramp(file: string, W: number, H: number): Promise<void> {
  const data = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set([Math.round((255 * x) / (W - 1)), Math.round((255 * y) / (H - 1)), 128], (y * W + x) * 3);
  await sharp(data, { raw: { width: W, height: H, channels: 3 } }).png().toFile(file);
}

test('a mixed-size dataset (100–500 px, portrait and landscape) trains with views that reach both ends of each image, each image at its own size', async (t) => {
  const dir = tmpDir('clips4-mixed-');
  const sizes: [number, number][] = [[500, 100], [100, 500], [320, 180], [150, 420], [100, 100], [480, 260], [210, 330]];
  const files = sizes.map(([W, H], i) => path.join(dir, `img${i}.png`));
  await Promise.all(files.map((f, i) => ramp(f, ...sizes[i])));
  const clip = await tinyClip();
  const lines: string[] = [];
  const p = await prepareTraining({ files, clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky'], topM: 1, unknown: 2, seed: 0, log: (l) => lines.push(l) });
  t.true(lines.some((l) => /7 sizes: each keeps its own/.test(l)), lines.join('\n'));
  // Each image keeps its own size (rounded to the CLIP stride 8) and its teacher map its aspect.
  p.samples.forEach((s, i) => {
    t.deepEqual([s.width, s.height], [Math.round(sizes[i][0] / 8) * 8, Math.round(sizes[i][1] / 8) * 8]);
    t.deepEqual([s.clip.fw, s.clip.fh], [s.width / 8, s.height / 8]);
  });

  const views = { ...DEFAULT_VIEWS, size: 32, stride: 8 };
  const B = 7;
  const seen = new Map<SampleRef, { g: ViewGeometry; lo: number; hi: number }[]>();
  for (let it = 0; it < 24; it++) {
    const trace = { picked: [] as SampleRef[], geometry: [] as ViewGeometry[] };
    const batch = await trainingBatch(p.samples, B, 1000 + it, views, { trace });
    t.deepEqual(batch.images.shape, [2 * B, 3, 32, 32]);
    t.true(batch.ignore.data.every((v) => v === 0), 'a view is a crop of its image: no padding');
    trace.geometry.forEach((g, idx) => {
      const s = trace.picked[idx % B];
      // The view's content along the long side (red across a landscape, green down a portrait), 0–1.
      const c = s.width >= s.height ? 0 : 1;
      const plane = batch.images.data.subarray((idx * 3 + c) * 32 * 32, (idx * 3 + c + 1) * 32 * 32);
      const values = Array.from(plane, (v) => v * CLIP_STD[c] + CLIP_MEAN[c]);
      seen.set(s, [...(seen.get(s) ?? []), { g, lo: Math.min(...values), hi: Math.max(...values) }]);
    });
  }
  for (const s of p.samples) {
    const v = seen.get(s) ?? [];
    const name = `${path.basename(s.file)} (${s.width}×${s.height})`;
    t.true(v.length >= 24, `${name}: ${v.length} views`);
    const short = Math.min(s.width, s.height);
    for (const { g } of v) {
      t.true(g.x0 >= 0 && g.y0 >= 0 && g.x0 + g.w <= s.width + 1e-9 && g.y0 + g.h <= s.height + 1e-9, `${name}: box inside the image`);
      t.true(g.w >= Math.sqrt(views.scale[0]) * short - 1e-9 && g.w <= short + 1e-9, `${name}: box side a scale fraction of the shorter side`);
    }
    // Over the views, the recorded boxes reach both ends of the long side…
    const long = Math.max(s.width, s.height);
    const start = Math.min(...v.map(({ g }) => (s.width >= s.height ? g.x0 : g.y0)));
    const end = Math.max(...v.map(({ g }) => (s.width >= s.height ? g.x0 + g.w : g.y0 + g.h)));
    t.true(start < 0.1 * long && end > 0.9 * long, `${name}: views span ${start.toFixed(0)}–${end.toFixed(0)} of ${long}`);
    // …and so does what the views show (a centre crop of a 500×100 image would show 0.4–0.6 only).
    t.true(Math.min(...v.map((x) => x.lo)) < 0.1 && Math.max(...v.map((x) => x.hi)) > 0.9, `${name}: view content along the long side`);
  }
});

test('teacher features of a portrait and a landscape image keep their aspect in the cache', async (t) => {
  const dir = tmpDir('clips4-aspect-');
  const files = [path.join(dir, 'land.png'), path.join(dir, 'port.png')];
  await ramp(files[0], 160, 96);
  await ramp(files[1], 96, 160);
  const clip = await tinyClip();
  // The teacher looks at each image with its shorter side at 48: 80×48 and 48×80, 10×6 and 6×10 patches.
  const p = await prepareTraining({ files, clip, teacher: clipTeacher(clip, 'maskclip', 48), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky'], topM: 1, unknown: 2, seed: 0 });
  t.deepEqual(p.samples.map((s) => [s.clip.E, s.clip.fh, s.clip.fw]), [[8, 6, 10], [8, 10, 6]]);
  const cacheFile = p.samples[0].clip.file;
  const index = JSON.parse(fs.readFileSync(`${cacheFile}.json`, 'utf8'));
  t.deepEqual(index.runs, [[8, 6, 10, 1], [8, 10, 6, 1]], 'the index records each record\'s own shape');
  t.is(fs.statSync(cacheFile).size, 2 * 8 * 60 * 2);
  t.deepEqual(p.samples.map((s) => s.clip.offset), [0, 8 * 60 * 2]);
  for (const [i, s] of p.samples.entries()) {
    const loaded = await loadSample(s);
    t.deepEqual([loaded.clip.cell, loaded.clip.cellY], [16, 16], 'a feature cell covers 16×16 image pixels');
    const want = (await clip.denseFeatures(normalizeImages([await resizeKeepAspect(await loadImage(files[i]), { shorter: 48, multipleOf: 8 })]), { variant: 'maskclip' })).data;
    t.deepEqual(want.length, loaded.clip.data.length);
    const worst = loaded.clip.data.reduce((m, v, k) => Math.max(m, Math.abs(v - want[k]) / Math.max(1e-3, Math.abs(want[k]))), 0);
    t.true(worst < 2e-3, `${path.basename(s.file)}: relative difference ${worst} (float16)`);
  }
});

test('features of a non-square map follow the view: cells of different width and height', (t) => {
  // An 80×48 image with a 10×4 feature map (cells 8 wide, 12 high) holding each cell centre's coordinates.
  const [W, H, fw, fh] = [80, 48, 10, 4];
  const feat = new Float32Array(2 * fh * fw);
  for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) [feat[y * fw + x], feat[fh * fw + y * fw + x]] = [x * 8 + 4, y * 12 + 6];
  const r = makeRng(5);
  const o = { ...DEFAULT_VIEWS, size: 32, stride: 8 };
  for (let k = 0; k < 20; k++) {
    const g = sampleGeometry(W, H, o, r);
    const out = warpFeatures(feat, 2, fh, fw, 8, g, 32, 4, 12);
    for (let cy = 0; cy < 4; cy++) {
      for (let cx = 0; cx < 4; cx++) {
        const [sx, sy] = sourcePoint(g, 32, cx * 8 + 3.5, cy * 8 + 3.5);
        // Bilinear interpolation of coordinates is exact inside the outer cell centres.
        if (sx >= 4 && sx <= W - 4) t.true(Math.abs(out[cy * 4 + cx] - sx) < 1e-3, `x ${out[cy * 4 + cx]} vs ${sx}`);
        if (sy >= 6 && sy <= H - 6) t.true(Math.abs(out[16 + cy * 4 + cx] - sy) < 1e-3, `y ${out[16 + cy * 4 + cx]} vs ${sy}`);
      }
    }
  }
});

test('equal squares: batches loaded per batch, with or without decoded samples kept between batches, equal the batches of samples held in memory', async (t) => {
  const dir = tmpDir('clips4-loader-');
  await generateWorld({ out: path.join(dir, 'w'), seed: 9, train: 6, val: 1, size: 48, crops: 0 });
  const files = fs.readdirSync(path.join(dir, 'w', 'JPEGImages')).slice(0, 6).map((f) => path.join(dir, 'w', 'JPEGImages', f));
  const clip = await tinyClip();
  const p = await prepareTraining({ files, clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { segments: 6, compactness: 10 }, knownNames: ['sky'], topM: 1, unknown: 2, seed: 0 });
  // The samples as training held them before (#17): decoded image, regions, float32 features, one cell size.
  const held = new Map<SampleRef, Sample>();
  for (const s of p.samples) {
    const image = await loadImage(s.file);
    t.deepEqual(usedSize(image.width, image.height, 0, 8), { width: image.width, height: image.height });
    const { E, fh, fw } = s.clip;
    held.set(s, { image, regions: await regionsFor(s.regions.source, s.file, s.original, image, s.regions.cacheDir), clip: { data: readCacheRecords(s.clip.file, s.clip.offset, E * fh * fw), E, fh, fw, cell: image.width / fw } });
  }
  const views = { ...DEFAULT_VIEWS, size: 32, stride: 8 };
  for (const seed of [1, 2, 3]) {
    const r = makeRng(seed);
    const pick = Array.from({ length: 4 }, () => held.get(p.samples[r.int(p.samples.length)])!);
    const before = await makeBatch(pick, views, r);
    const now = await trainingBatch(p.samples, 4, seed, views);
    for (const k of ['images', 'regions', 'ignore', 'clip'] as const) t.deepEqual(now[k], before[k], `${k}, seed ${seed}`);
  }
  // Kept between batches: all six samples, or two at a time (48² RGB + int32 ids = 16,128 bytes each),
  // so that later batches mix held, evicted and re-read samples.
  const one = 48 * 48 * 3 + 48 * 48 * 4;
  for (const cache of [new DecodedCache(6 * one), new DecodedCache(2 * one)]) {
    for (const seed of [1, 2, 3, 1, 2, 3]) {
      const r = makeRng(seed);
      const pick = Array.from({ length: 4 }, () => held.get(p.samples[r.int(p.samples.length)])!);
      const now = await trainingBatch(p.samples, 4, seed, views, { cache });
      for (const [k, v] of Object.entries(await makeBatch(pick, views, r))) t.deepEqual(now[k as keyof typeof now], v, `${k}, seed ${seed}, budget ${cache.budget}`);
      t.true(cache.bytes <= cache.budget && cache.bytes % one === 0, `${cache.bytes} bytes held`);
    }
  }
});
