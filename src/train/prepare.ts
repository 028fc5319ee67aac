// Everything training needs before the first step, computed once from unlabelled images: decoded
// images, region maps (SLIC, Felzenszwalb or a folder of precomputed PNGs, see data/region-source), CLIP's dense teacher features (cached in float16), and the target-class
// prototypes (known: top-m CLIP segments per class name; unknown: random CLIP segments).
import * as path from 'node:path';
import type { Clip } from '../clip/clip';
import { clips4Error, ErrorCodes } from '../errors';
import { buildClipCache, cacheKey } from '../data/clip-cache';
import { regionsFor, type RegionSource } from '../data/region-source';
import type { Sample } from '../data/views';
import { loadImage, type RawImage } from '../image/load';
import { resizeExact, resizeKeepAspect, resizeShorterCenterCrop } from '../image/resize';
import { knownPrototypes, segmentMeans, sphericalKMeans } from '../kernels';
import type { Tensor } from '../tensor';
import { coincidingPrototypes, unknownPrototypes } from './prototypes';
import { makeRng } from '../rng';
import type { Teacher } from './teacher';

/**
 * The CLIP segments the prototypes are built from (paper Fig. 3b): k-means of each teacher map on a
 * grid of at most 3×3 clusters. Not a setting: the paper gives none, and the teacher's maps are small.
 */
const CLIP_SEGMENTS = { grid: 3, iterations: 10, locationWeight: 1 };

export interface Prepared {
  samples: Sample[];
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
  const images: RawImage[] = [];
  const kept: string[] = [];
  const originals: { width: number; height: number }[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < o.files.length; i += 16) {
    const part = await Promise.all(
      o.files.slice(i, i + 16).map(async (f) => {
        let img: RawImage;
        try {
          img = await loadImage(f);
        } catch (err) {
          if (o.strict) throw err;
          log(`warning: skipping ${f}: ${(err as Error).message}`);
          skipped.push(f);
          return undefined;
        }
        const original = { width: img.width, height: img.height };
        const used = await (o.resize ? resizeKeepAspect(img, { shorter: o.resize, multipleOf: multiple }) : img.width % multiple || img.height % multiple ? resizeExact(img, Math.max(multiple, Math.round(img.width / multiple) * multiple), Math.max(multiple, Math.round(img.height / multiple) * multiple)) : img);
        return { img: used, original };
      }),
    );
    part.forEach((r, k) => {
      if (!r) return;
      images.push(r.img);
      originals.push(r.original);
      kept.push(o.files[i + k]);
    });
  }
  if (skipped.length) log(`warning: ${skipped.length} unreadable image(s) skipped`);
  if (images.length === 0) throw clips4Error(ErrorCodes.dataset, `none of the ${o.files.length} training images could be read`);
  let cropped = false;
  const sizes = new Set(images.map((img) => `${img.width}x${img.height}`));
  if (sizes.size > 1) {
    // The CLIP cache holds one feature-map size, so photos of mixed sizes get one square size.
    const shorter = o.resize || Math.min(...images.map((img) => Math.min(img.width, img.height)));
    const side = Math.max(multiple, Math.round(shorter / multiple) * multiple);
    log(`training images come in ${sizes.size} sizes: each is resized and centre-cropped to ${side}x${side} (set data.resize to choose the side)`);
    for (let i = 0; i < images.length; i++) images[i] = await resizeShorterCenterCrop(images[i], side);
    cropped = true;
  }
  const regions = await Promise.all(images.map((img, i) => regionsFor(o.regions, kept[i], originals[i], img, path.join(o.cacheDir, 'regions'), cropped)));
  const E = o.clip.info.embedDim;
  const key = cacheKey({ teacher: o.teacher.id, resolution: images[0].width, images: kept });
  const cache = await buildClipCache(o.cacheDir, key, kept.length, async (idx) => {
    // Same-sized images are batched; others one at a time.
    const groups = new Map<string, number[]>();
    for (const i of idx) groups.set(`${images[i].width}x${images[i].height}`, [...(groups.get(`${images[i].width}x${images[i].height}`) ?? []), i]);
    if (groups.size === 1) return o.teacher.features(idx.map((i) => images[i]), idx.map((i) => ({ file: kept[i], fit: cropped ? 'cover' : 'fill' })));
    throw new Error('images of different sizes: set data.resize so the CLIP cache can batch them');
  }, { onProgress: (d, t) => d % 256 < 32 && log(`CLIP teacher features ${d}/${t}`) });
  const [, fh, fw] = cache.index.shape;
  const samples: Sample[] = images.map((image, i) => ({ image, regions: regions[i], clip: { data: cache.read(i), E, fh, fw, cell: image.width / fw } }));

  const segs: Float32Array[] = [];
  let S = 0;
  for (let i = 0; i < samples.length; i += 64) {
    const part = samples.slice(i, i + 64);
    const f: Tensor<'float32'> = { dtype: 'float32', shape: [part.length, E, fh, fw], data: new Float32Array(part.length * E * fh * fw) };
    part.forEach((s, k) => f.data.set(s.clip.data, k * E * fh * fw));
    const grid: [number, number] = [Math.min(CLIP_SEGMENTS.grid, fh), Math.min(CLIP_SEGMENTS.grid, fw)];
    const km = await sphericalKMeans(f, { grid, iterations: CLIP_SEGMENTS.iterations, locationWeight: CLIP_SEGMENTS.locationWeight });
    const K = grid[0] * grid[1];
    km.labels.data.forEach((l, p) => (km.labels.data[p] = l < 0 ? -1 : Math.floor(p / (fh * fw)) * K + l));
    const m = await segmentMeans(f, km.labels);
    // A cluster k-means left empty has no pixels and a zero mean: it is no CLIP segment, and must
    // neither become an unknown prototype nor rank into a known class's top-m.
    const rows = m.means.data as Float32Array;
    m.image.data.forEach((img, s) => {
      if (img < 0) return;
      segs.push(rows.subarray(s * E, (s + 1) * E));
      S++;
    });
  }
  const all = new Float32Array(S * E);
  let off = 0;
  for (const s of segs) {
    all.set(s, off);
    off += s.length;
  }
  const knownText = await o.clip.textClassifier(o.knownNames, o.templates?.length ? { templates: o.templates } : {});
  const known = await knownPrototypes({ dtype: 'float32', shape: [S, E], data: all }, knownText, { m: o.topM, logitScale: await o.clip.logitScale() });
  for (const g of coincidingPrototypes(known, o.knownNames)) {
    log(`warning: known classes ${g.join(', ')} got the same prototype (the same top-${o.topM} of ${S} CLIP segments), so the semantic loss cannot tell them apart; use more training images or a smaller prototypes.topM`);
  }
  const unknown = unknownPrototypes(all, S, E, o.unknown, makeRng(o.seed + 1), log);
  log(`prototypes from ${S} CLIP segments: ${o.knownNames.length} known, ${o.unknown} unknown`);
  return { samples, known, unknown, knownText, clipSegments: S };
}

export function cacheDirFor(out: string): string {
  return path.join(out, 'cache');
}
