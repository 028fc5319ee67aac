// Regions from a folder of precomputed PNGs: each accepted encoding (8/16-bit grey, palette, RGB)
// decodes to the same contiguous ids, a missing file or a size mismatch is an error naming the
// files, a resized training image gets its map resampled, and training preparation uses them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { Clip } from '../src/clip/clip';
import { WordTokenizer } from '../src/clip/tokenizer';
import { folderRegions, readRegionPng } from '../src/data/region-folder';
import { regionsFor, regionSourceFromConfig, type RegionConfig } from '../src/data/region-source';
import { encodeGray16Png, encodeIndexedPng } from '../src/io/png';
import { prepareTraining } from '../src/train/prepare';
import { loadSample } from '../src/data/sample-source';
import { clipTeacher } from '../src/train/teacher';
import { resolveConfig } from '../src/train/config';
import { SCHEMA } from '../src/train/schema';
import { generateWorld, WORLD_CLASSES } from '../src/world';
import { tmpDir } from './helpers/tmp';

process.env.CLIPS4_NUM_THREADS ??= '1';

// A W×H map in quadrants; raster order meets top-left, top-right, bottom-left, bottom-right, so
// whatever values the quadrants hold, the ids must come out 0, 1, 2, 3 by quadrant.
function quadrantIds(W: number, H: number): Int32Array {
  return Int32Array.from({ length: W * H }, (_, i) => (Math.floor(i / W) < H / 2 ? 0 : 2) + (i % W < W / 2 ? 0 : 1));
}
const withValues = (W: number, H: number, values: number[]) => Array.from(quadrantIds(W, H), (q) => values[q]);

async function rgbPng(values: number[], W: number, H: number): Promise<Buffer> {
  const raw = Buffer.alloc(W * H * 3);
  values.forEach((v, i) => raw.set([(v >> 16) & 255, (v >> 8) & 255, v & 255], i * 3));
  return sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}

test('8-bit grey, 16-bit grey, palette and RGB region PNGs decode to the same contiguous ids', async (t) => {
  const dir = tmpDir('clips4-regionpng-');
  const W = 12;
  const H = 8;
  const files: Record<string, Buffer> = {
    grey8: await sharp(Buffer.from(withValues(W, H, [200, 5, 0, 77])), { raw: { width: W, height: H, channels: 1 } }).png().toBuffer(),
    grey16: encodeGray16Png(Uint16Array.from(withValues(W, H, [60000, 3, 1000, 256])), W, H),
    palette: encodeIndexedPng(Uint8Array.from(withValues(W, H, [9, 8, 7, 6])), W, H),
    rgb: await rgbPng(withValues(W, H, [0x010203, 0x000001, 0xff0000, 0x00ff00]), W, H),
  };
  for (const [name, buf] of Object.entries(files)) {
    const file = path.join(dir, `${name}.png`);
    fs.writeFileSync(file, buf);
    const map = await readRegionPng(file);
    t.is(map.width, W, name);
    t.is(map.height, H, name);
    t.deepEqual(map.ids, quadrantIds(W, H), name);
  }
  // Two quadrants sharing a value are one region: 3 ids.
  fs.writeFileSync(path.join(dir, 'shared.png'), encodeGray16Png(Uint16Array.from(withValues(W, H, [4, 9, 9, 4])), W, H));
  t.deepEqual(Array.from(new Set((await readRegionPng(path.join(dir, 'shared.png'))).ids)), [0, 1]);
});

test('a missing region PNG names the image and the expected path; a size mismatch names both files and sizes', async (t) => {
  const dir = tmpDir('clips4-regiondir-');
  const image = path.join(dir, 'photos', 'cat.01.jpg');
  const regions = path.join(dir, 'regions');
  fs.mkdirSync(regions);
  const expected = path.join(regions, 'cat.01.png');
  await t.throwsAsync(folderRegions(regions, image, { width: 12, height: 8 }), {
    message: (m: string) => m.includes(image) && m.includes(expected),
  });
  fs.writeFileSync(expected, encodeGray16Png(new Uint16Array(10 * 8), 10, 8));
  await t.throwsAsync(folderRegions(regions, image, { width: 12, height: 8 }), {
    message: (m: string) => m.includes(image) && m.includes(expected) && m.includes('10×8') && m.includes('12×8'),
  });
  fs.writeFileSync(expected, 'not a png');
  await t.throwsAsync(folderRegions(regions, image, { width: 12, height: 8 }), { message: new RegExp(`${expected.replace(/[.]/g, '\\.')}: not a PNG file`) });
});

test('precomputed regions are checked against the original size and resampled to the resized image', async (t) => {
  const dir = tmpDir('clips4-regionresize-');
  fs.writeFileSync(path.join(dir, 'x.png'), encodeGray16Png(Uint16Array.from(withValues(20, 16, [5, 6, 7, 8])), 20, 16));
  const small = { width: 10, height: 8, data: new Uint8Array(10 * 8 * 3) };
  const ids = await regionsFor({ dir }, '/somewhere/x.jpg', { width: 20, height: 16 }, small, path.join(dir, 'cache'));
  t.deepEqual(ids, quadrantIds(10, 8));
  await t.throwsAsync(regionsFor({ dir }, '/somewhere/x.jpg', { width: 10, height: 8 }, small, path.join(dir, 'cache')), { message: /is 20×16 but its image \/somewhere\/x\.jpg is 10×8/ });
});

test('the data.* region keys choose the source, with the schema defaults meaning SLIC', (t) => {
  const defaults = Object.fromEntries(Object.entries(SCHEMA.data).map(([k, f]) => [k, f.default])) as unknown as RegionConfig;
  t.deepEqual(regionSourceFromConfig(defaults), { method: 'slic', segments: defaults.regions, compactness: defaults.compactness });
  t.deepEqual(regionSourceFromConfig({ ...defaults, regionMethod: 'felzenszwalb' }), {
    method: 'felzenszwalb',
    scale: defaults.felzenszwalbScale,
    sigma: defaults.felzenszwalbSigma,
    minSize: defaults.felzenszwalbMinSize,
  });
  t.deepEqual(regionSourceFromConfig({ ...defaults, regionMethod: 'felzenszwalb', regionDir: '/r' }), { dir: '/r' });
  t.throws(() => regionSourceFromConfig({ ...defaults, regionMethod: 'watershed' }), { message: /Expected one of 'slic', 'felzenszwalb' for data\.regionMethod but received/ });
  // Through the config layer: --set picks the method and folder; unknown methods are refused there.
  const felz = resolveConfig(undefined, ['clip.weights=w', 'data.regionMethod=felzenszwalb', 'data.felzenszwalbScale=120']).config.data as unknown as RegionConfig;
  t.deepEqual(regionSourceFromConfig(felz), { method: 'felzenszwalb', scale: 120, sigma: defaults.felzenszwalbSigma, minSize: defaults.felzenszwalbMinSize });
  t.deepEqual(regionSourceFromConfig(resolveConfig(undefined, ['clip.weights=w', 'data.regionDir=/ucm']).config.data as unknown as RegionConfig), { dir: '/ucm' });
  t.throws(() => resolveConfig(undefined, ['clip.weights=w', 'data.regionMethod=watershed']), { message: /slic, felzenszwalb/ });
});

test('training preparation takes its regions from the folder when given one', async (t) => {
  const dir = tmpDir('clips4-prepregions-');
  await generateWorld({ out: path.join(dir, 'w'), seed: 5, train: 3, val: 1, size: 48, crops: 0 });
  const imgDir = path.join(dir, 'w', 'JPEGImages');
  const files = fs.readdirSync(imgDir).slice(0, 3).map((f) => path.join(imgDir, f));
  const regionDir = path.join(dir, 'regions');
  fs.mkdirSync(regionDir);
  for (const f of files) fs.writeFileSync(path.join(regionDir, `${path.basename(f, path.extname(f))}.png`), encodeGray16Png(Uint16Array.from(withValues(48, 48, [3, 1, 4, 1])), 48, 48));
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]));
  const o = { files, clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { dir: regionDir }, knownNames: ['sky'], topM: 2, unknown: 2, seed: 0 };
  const p = await prepareTraining(o);
  t.is(p.samples.length, 3);
  // Quadrants valued 3, 1, 4, 1: the top-right and bottom-right quadrants are one region.
  const expected = Array.from(quadrantIds(48, 48), (q) => [0, 1, 2, 1][q]);
  for (const s of await Promise.all(p.samples.map((s) => loadSample(s)))) t.deepEqual(Array.from(s.regions), expected);
  fs.rmSync(path.join(regionDir, `${path.basename(files[1], path.extname(files[1]))}.png`));
  await t.throwsAsync(prepareTraining(o), { message: (m: string) => m.includes(files[1]) && m.includes(regionDir) });
});

test('photos of mixed sizes: precomputed regions keep each photo\'s own size and aspect', async (t) => {
  const dir = tmpDir('clips4-prepsizes-');
  const regionDir = path.join(dir, 'regions');
  fs.mkdirSync(regionDir);
  const files: string[] = [];
  // A landscape 64×48 photo split at x = 16 and a portrait 48×64 one split at y = 16: neither is
  // cropped or squeezed, so the split stays at 16 (a centre crop to 48×48 would put it at 8).
  for (const [name, W, H] of [['land', 64, 48], ['port', 48, 64]] as const) {
    const file = path.join(dir, `${name}.jpg`);
    await sharp(Buffer.alloc(W * H * 3, 90), { raw: { width: W, height: H, channels: 3 } }).jpeg().toFile(file);
    files.push(file);
    const split = Uint16Array.from({ length: W * H }, (_, i) => (name === 'land' ? (i % W < 16 ? 5 : 9) : Math.floor(i / W) < 16 ? 5 : 9));
    fs.writeFileSync(path.join(regionDir, `${name}.png`), encodeGray16Png(split, W, H));
  }
  const clip = await Clip.create({ kind: 'vit', embedDim: 8, imageResolution: 48, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 64, textLayers: 1 }, WordTokenizer.fromTexts([...WORLD_CLASSES]));
  const p = await prepareTraining({ files, clip, teacher: clipTeacher(clip, 'maskclip', 0), cacheDir: path.join(dir, 'cache'), resize: 0, regions: { dir: regionDir }, knownNames: ['sky'], topM: 1, unknown: 1, seed: 0 });
  const [land, port] = await Promise.all(p.samples.map((s) => loadSample(s)));
  t.deepEqual([land.image.width, land.image.height, port.image.width, port.image.height], [64, 48, 48, 64]);
  t.deepEqual(Array.from(land.regions), Array.from({ length: 64 * 48 }, (_, i) => (i % 64 < 16 ? 0 : 1)));
  t.deepEqual(Array.from(port.regions), Array.from({ length: 48 * 64 }, (_, i) => (Math.floor(i / 48) < 16 ? 0 : 1)));
});
