// Everything training needs before the first step, computed once from unlabelled images: where
// each image's data is (its size, its region maps (SLIC, Felzenszwalb or a folder of precomputed PNGs, see data/region-source), CLIP's dense teacher features at its own size, cached in float16), and the target-class
// prototypes (known: top-m CLIP segments per class name; unknown: random CLIP segments).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clip } from '../clip/clip';
import { clips4Error, ErrorCodes } from '../errors';
import { buildClipCache, cacheKey, readCacheRecords } from '../data/clip-cache';
import { regionsFor, regionsPresent, type RegionSource } from '../data/region-source';
import { usedImage, type SampleRef } from '../data/sample-source';
import { loadImage, type RawImage } from '../image/load';
import { keepAspectSize } from '../image/resize';
import { knownPrototypes, knownPrototypeSegments, segmentMeans, sphericalKMeans } from '../kernels';
import type { Tensor } from '../tensor';
import * as safetensors from '../safetensors';
import { ImageManifest } from './image-manifest';
import { stageProgress } from './progress';
import { coincidingPrototypes, unitRows, unknownPicks } from './prototypes';
import { makeRng } from '../rng';
import type { Teacher } from './teacher';

/**
 * The CLIP segments the prototypes are built from (paper Fig. 3b): k-means of each teacher map on a
 * grid of at most 3×3 clusters. Not a setting: the paper gives none, and the teacher's maps are small.
 */
export const CLIP_SEGMENTS = { grid: 3, iterations: 10, locationWeight: 1 };

/** Images decoded at once in the first pass (not a setting: it only bounds memory and keeps the cores busy). */
const PASS = 16;
/** Cache records clustered at once for the prototypes (not a setting: k-means is per image; this bounds memory). */
const CHUNK = 64;
/** How often the first pass saves the image manifest (not a setting: it only bounds the work an interruption loses). */
const MANIFEST_SAVE_MS = 30_000;
/** CLIP segments ranked at once for the known prototypes (not a setting: it bounds memory and native calls). */
const RANK_ROWS = 1024;

export interface Prepared {
  /** Where each training image's data is (loaded per batch: data/sample-source). */
  samples: SampleRef[];
  known: Tensor<'float32'>;
  unknown: Tensor<'float32'>;
  knownText: Tensor<'float32'>;
  clipSegments: number;
}

export interface PrepareOptions {
  files: string[];
  /** Names the classes (text classifier, logit scale) and sets the sides' multiple. */
  clip: Clip;
  /** The dense features L_e, L_s and the prototypes learn from (CLIP's, see teacher.ts). */
  teacher: Teacher;
  cacheDir: string;
  /** Shorter side after resizing (0 = keep); sides are rounded to the CLIP patch so all features align. */
  resize: number;
  /** Where regions come from ({segments, compactness} = SLIC; see regionSourceFromConfig). */
  regions: RegionSource;
  knownNames: string[];
  templates?: string[];
  topM: number;
  unknown: number;
  seed: number;
  /** Fail on the first unreadable image instead of skipping it with a warning. */
  strict?: boolean;
  log?: (line: string) => void;
}

export async function prepareTraining(o: PrepareOptions): Promise<Prepared> {
  const log = o.log ?? (() => {});
  const multiple = o.clip.stride;
  const regionCache = { source: o.regions, cacheDir: path.join(o.cacheDir, 'regions') };
  // First pass, a few images at a time (none is kept): which images decode, the size each is used
  // at (its own aspect), and its regions (computed once into the region cache). What it finds is
  // kept in a manifest beside the caches: a restart reads unchanged images' entries instead of
  // decoding them (their regions are in the region cache already).
  const manifest = ImageManifest.open(path.join(o.cacheDir, `images-${cacheKey({ teacher: JSON.stringify(o.regions), resolution: `resize ${o.resize}, multiple ${multiple}`, images: [] })}.json`));
  const kept: { file: string; original: { width: number; height: number }; width: number; height: number }[] = [];
  const skipped: string[] = [];
  let recalled = 0;
  let savedAt = Date.now();
  const firstPass = stageProgress('images read and regions made', o.files.length, log);
  firstPass(0);
  for (let i = 0; i < o.files.length; i += PASS) {
    const part = await Promise.all(
      o.files.slice(i, i + PASS).map(async (f) => {
        const entry = manifest.lookup(f);
        // A region folder is the user's: a map removed since is reported now, not at training.
        if (entry?.original && entry.width && entry.height && regionsPresent(o.regions, f)) {
          recalled++;
          return { file: f, original: entry.original, width: entry.width, height: entry.height };
        }
        let img: RawImage;
        try {
          img = await loadImage(f);
        } catch (err) {
          if (o.strict) throw err;
          log(`warning: skipping ${f}: ${(err as Error).message}`);
          skipped.push(f);
          manifest.record(f, {});
          return undefined;
        }
        const original = { width: img.width, height: img.height };
        const size = keepAspectSize(img.width, img.height, o.resize, multiple);
        const used = await usedImage(img, size.width, size.height);
        await regionsFor(o.regions, f, original, used, regionCache.cacheDir);
        manifest.record(f, { original, ...size });
        return { file: f, original, ...size };
      }),
    );
    for (const r of part) if (r) kept.push(r);
    firstPass(Math.min(i + PASS, o.files.length));
    // Kept as it grows, at most twice a minute (each save writes the whole manifest): an interrupted
    // first pass resumes about where it stopped.
    if (Date.now() - savedAt > MANIFEST_SAVE_MS) {
      manifest.save();
      savedAt = Date.now();
    }
  }
  manifest.save();
  if (recalled) log(`${recalled} of ${o.files.length} images as the last run found them (unchanged files; ${path.basename(manifest.file)})`);
  if (skipped.length) log(`warning: ${skipped.length} unreadable image(s) skipped`);
  if (kept.length === 0) throw clips4Error(ErrorCodes.dataset, `none of the ${o.files.length} training images could be read`);
  const sizes = new Set(kept.map((k) => `${k.width}x${k.height}`));
  if (sizes.size > 1) log(`training images come in ${sizes.size} sizes: each keeps its own (views are random crops of the whole image)`);
  const E = o.clip.info.embedDim;
  // The features depend on each image's size: one size is keyed as before, several by the size rule.
  const resolution = sizes.size === 1 ? kept[0].width : `resize ${o.resize}, multiple ${multiple}`;
  const key = cacheKey({ teacher: o.teacher.id, resolution, images: kept.map((k) => k.file) });
  const cache = await buildClipCache(o.cacheDir, key, kept.length, async (idx) => {
    // Consecutive images of one size are one teacher call; the records stay in order.
    const images = await Promise.all(idx.map(async (i) => usedImage(await loadImage(kept[i].file), kept[i].width, kept[i].height)));
    const out: Tensor<'float32'>[] = [];
    for (let a = 0; a < idx.length; ) {
      let b = a + 1;
      while (b < idx.length && images[b].width === images[a].width && images[b].height === images[a].height) b++;
      out.push(await o.teacher.features(images.slice(a, b), idx.slice(a, b).map((i) => ({ file: kept[i].file, fit: 'fill' }))));
      a = b;
    }
    return out;
  }, { onProgress: stageProgress('CLIP teacher features', kept.length, log) });
  const samples: SampleRef[] = kept.map((k, i) => {
    const { offset, shape } = cache.records[i];
    if (shape[0] !== E) throw clips4Error(ErrorCodes.state, `the teacher-feature cache ${cache.file} holds ${shape[0]}-dimensional features but the CLIP embeds in ${E}: delete the cache to rebuild it`);
    return { ...k, regions: regionCache, clip: { file: cache.file, offset, E, fh: shape[1], fw: shape[2] } };
  });

  const knownText = await o.clip.textClassifier(o.knownNames, o.templates?.length ? { templates: o.templates } : {});
  const ranking = { m: o.topM, logitScale: await o.clip.logitScale() };
  // Kept beside the features they come from: a new run with the same images, teacher and classes
  // starts without a pass over the whole cache.
  const settings = { clip: o.clip.id, known: o.knownNames, templates: o.templates ?? [], topM: o.topM, unknown: o.unknown, seed: o.seed, segments: CLIP_SEGMENTS };
  const file = path.join(o.cacheDir, `prototypes-${cacheKey({ teacher: JSON.stringify(settings), resolution: path.basename(cache.file), images: [] })}.safetensors`);
  let protos: { known: Tensor<'float32'>; unknown: Tensor<'float32'>; clipSegments: number };
  if (fs.existsSync(file)) {
    const t = await safetensors.read(file);
    protos = { known: t.known as Tensor<'float32'>, unknown: t.unknown as Tensor<'float32'>, clipSegments: Number((await safetensors.readMetadata(file)).clipSegments) };
  } else {
    protos = await streamedPrototypes(samples, cache.file, E, knownText, ranking, o, log);
    await safetensors.write(file, { known: protos.known, unknown: protos.unknown }, { clipSegments: String(protos.clipSegments) });
  }
  for (const g of coincidingPrototypes(protos.known, o.knownNames)) {
    log(`warning: known classes ${g.join(', ')} got the same prototype (the same top-${o.topM} of ${protos.clipSegments} CLIP segments), so the semantic loss cannot tell them apart; use more training images or a smaller prototypes.topM`);
  }
  log(`prototypes from ${protos.clipSegments} CLIP segments: ${o.knownNames.length} known, ${o.unknown} unknown`);
  return { samples, ...protos, knownText };
}

/**
 * The prototypes, streamed over the cache's CLIP segments (nothing here grows with the dataset in
 * memory): one k-means pass keeps each known class's best segments so far (ranked RANK_ROWS
 * segments at a time) and spills every segment mean to a scratch file; the count is all the unknown
 * prototypes' draw needs, and the drawn segments are read back from the spill.
 */
async function streamedPrototypes(samples: SampleRef[], cacheFile: string, E: number, knownText: Tensor<'float32'>, ranking: { m: number; logitScale: number }, o: PrepareOptions, log: (line: string) => void) {
  let best = { rows: new Float32Array(0), n: 0 }; // the candidates for some class's top-m, in stream order
  let pending: Float32Array[] = [];
  let pendingRows = 0;
  const rank = async () => {
    const pool = new Float32Array((best.n + pendingRows) * E);
    pool.set(best.rows);
    let at = best.n * E;
    for (const r of pending) {
      pool.set(r, at);
      at += r.length;
    }
    pending = [];
    pendingRows = 0;
    const top = await knownPrototypeSegments({ dtype: 'float32', shape: [pool.length / E, E], data: pool }, knownText, ranking);
    const keep = [...new Set(top.data)].sort((a, b) => a - b);
    best = { rows: new Float32Array(keep.length * E), n: keep.length };
    keep.forEach((r, i) => best.rows.set(pool.subarray(r * E, (r + 1) * E), i * E));
  };
  // A name no other run has, in this process or another: runs trained side by side in one process
  // (world reproduce) can reach this in the same millisecond, and a shared scratch file mixed their
  // segments into each other's unknown prototypes.
  const spill = path.join(o.cacheDir, `segments-${randomUUID()}.f32.tmp`);
  const fd = fs.openSync(spill, 'wx+');
  try {
    let S = 0;
    await forEachClipSegments(samples, cacheFile, E, async (rows, n) => {
      const part = rows.slice(0, n * E);
      fs.writeSync(fd, part, 0, part.byteLength, S * E * 4);
      S += n;
      pending.push(part);
      pendingRows += n;
      if (pendingRows >= RANK_ROWS) await rank();
    }, stageProgress('prototypes: CLIP segments of the teacher features', samples.length, log));
    if (pendingRows) await rank();
    if (S === 0) throw clips4Error(ErrorCodes.dataset, `k-means found no CLIP segment in the ${samples.length} training images' teacher features`);
    const known = await knownPrototypes({ dtype: 'float32', shape: [best.n, E], data: best.rows }, knownText, ranking);
    const picks = unknownPicks(S, o.unknown, makeRng(o.seed + 1), log);
    const drawn = picks.map((s) => {
      const row = new Float32Array(E);
      fs.readSync(fd, row, 0, E * 4, s * E * 4);
      return row;
    });
    return { known, unknown: unitRows(drawn, E), clipSegments: S };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(spill, { force: true });
  }
}

/**
 * The CLIP segments of every sample in cache order (paper Fig. 3b: k-means of each teacher map on a
 * grid of at most 3×3 clusters), one chunk of records in memory at a time: `visit` gets a chunk's
 * segment means [n,E] (row-major; the array may be longer than n rows). A cluster k-means left empty
 * has no pixels and a zero mean: it is no CLIP segment, and is not visited (it must neither become an
 * unknown prototype nor rank into a known class's top-m). The same samples give the same stream.
 */
async function forEachClipSegments(samples: SampleRef[], file: string, E: number, visit: (rows: Float32Array, n: number) => Promise<void>, progress?: (done: number) => void): Promise<void> {
  progress?.(0);
  for (let i = 0; i < samples.length; i += CHUNK) {
    const chunk = samples.slice(i, i + CHUNK);
    const first = chunk[0].clip;
    const last = chunk[chunk.length - 1].clip;
    const all = readCacheRecords(file, first.offset, (last.offset - first.offset) / 2 + last.E * last.fh * last.fw);
    for (let a = 0; a < chunk.length; ) {
      const { fh, fw } = chunk[a].clip;
      let b = a + 1;
      while (b < chunk.length && chunk[b].clip.fh === fh && chunk[b].clip.fw === fw) b++;
      const from = (chunk[a].clip.offset - first.offset) / 2;
      const f: Tensor<'float32'> = { dtype: 'float32', shape: [b - a, E, fh, fw], data: all.subarray(from, from + (b - a) * E * fh * fw) };
      a = b;
      const grid: [number, number] = [Math.min(CLIP_SEGMENTS.grid, fh), Math.min(CLIP_SEGMENTS.grid, fw)];
      const km = await sphericalKMeans(f, { grid, iterations: CLIP_SEGMENTS.iterations, locationWeight: CLIP_SEGMENTS.locationWeight });
      const K = grid[0] * grid[1];
      km.labels.data.forEach((l, p) => (km.labels.data[p] = l < 0 ? -1 : Math.floor(p / (fh * fw)) * K + l));
      const m = await segmentMeans(f, km.labels);
      const rows = m.means.data as Float32Array;
      let n = 0;
      m.image.data.forEach((img, s) => {
        if (img < 0) return;
        rows.copyWithin(n * E, s * E, (s + 1) * E);
        n++;
      });
      await visit(rows, n);
    }
    progress?.(Math.min(i + CHUNK, samples.length));
  }
}

export function cacheDirFor(out: string): string {
  return path.join(out, 'cache');
}
