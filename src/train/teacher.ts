// The teacher: where the dense features that L_e, L_s and the prototypes learn from come from.
// Normally CLIP's own (MaskCLIP or a training-free variant, optionally at a larger input side);
// for controlled experiments a degraded oracle built from the ground truth, which tests the method
// apart from the quality of the CLIP at hand (issue: "a controlled teacher").
import * as path from 'node:path';
import type { Clip, DenseVariant } from '../clip/clip';
import { resizedLabel, type Dataset } from '../data/datasets';
import { clips4Error, ErrorCodes } from '../errors';
import type { RawImage } from '../image/load';
import { normalizeImages } from '../image/normalize';
import { keepAspectSize, resizeKeepAspect } from '../image/resize';
import { deriveSeed, makeRng, type Rng } from '../rng';
import type { Tensor } from '../tensor';

/** Where a training image came from, and how it was fitted to the size training uses. */
export interface ImageSource {
  file: string;
  /** 'fill': resized as a whole (aspect kept up to rounding); 'cover': resized and centre-cropped. */
  fit: 'fill' | 'cover';
}

export interface Teacher {
  /** What the features depend on beyond the images (part of the feature cache's key). */
  readonly id: string;
  /** Dense features [n,E,h,w] of decoded images of one size. */
  features(images: RawImage[], sources: ImageSource[]): Promise<Tensor<'float32'>>;
}

/** The size of the images the teacher looks at: shorter side `side` (0 = the image's own), rounded as CLIP needs. */
export const teacherInput = keepAspectSize;

/**
 * CLIP's dense features (`variant`), computed on the images resized so that their shorter side is
 * `side` (0 = as they are); with `slide`, by windows of `slide.window` every `slide.stride` pixels
 * over images larger than a window (averaged where they overlap; stride 0 = the window).
 */
export function clipTeacher(clip: Clip, variant: DenseVariant, side: number, slide?: { window: number; stride: number }): Teacher {
  const multiple = clip.stride;
  for (const [name, v] of [['clip.window', slide?.window ?? 0], ['clip.windowStride', slide?.stride ?? 0]] as const) {
    if (v % multiple) throw clips4Error(ErrorCodes.config, `Expected a multiple of the CLIP's patch (${multiple}) for ${name} but received ${v}`);
  }
  const windowed = slide && slide.window > 0 ? { window: slide.window, stride: slide.stride || slide.window } : undefined;
  return {
    // Whole-image features keep the id they always had (their caches stay valid).
    id: `clip:${clip.id}:${variant}:${side}${windowed ? `:window ${windowed.window}/${windowed.stride}` : ''}`,
    async features(images) {
      const resized = side ? await Promise.all(images.map((im) => resizeKeepAspect(im, { shorter: side, multipleOf: multiple }))) : images;
      return clip.denseFeatures(normalizeImages(resized), { variant, ...(windowed ?? {}) });
    },
  };
}

export interface OracleOptions {
  /** Class text embeddings [C,E] (rows: classes in label order; normalised). */
  text: Tensor<'float32'>;
  /** Label map of an image at the size it is used (class indices, 255 = ignore), fitted as the image was. */
  label: (source: ImageSource, width: number, height: number) => Promise<Uint8Array>;
  /** Feature-map size for an image size (the CLIP teacher's, so that both align the same way). */
  grid: (width: number, height: number) => { fh: number; fw: number };
  /** Fraction of cells whose class is replaced by another class, in spatially coherent blobs. */
  corruption: number;
  /** Standard deviation of the Gaussian noise added to every feature before renormalising. */
  noise: number;
  seed: number;
}

/**
 * A degraded oracle: each cell holds the average of the text embeddings of the true classes of its
 * pixels; a fraction `corruption` of cells, in blobs of radius 1–3 cells, take one other class's
 * embedding instead; Gaussian noise σ; each feature renormalised. Deterministic per (seed, image file
 * name): the same dataset gives the same oracle wherever it is on disk.
 */
export function oracleTeacher(o: OracleOptions): Teacher {
  const E = o.text.shape[1];
  return {
    id: `oracle-by-name:${o.corruption}:${o.noise}:${o.seed}:${hashRows(o.text.data)}`,
    async features(images, sources) {
      const maps: Float32Array[] = [];
      let fh = 0;
      let fw = 0;
      for (const [k, img] of images.entries()) {
        ({ fh, fw } = o.grid(img.width, img.height));
        const label = await o.label(sources[k], img.width, img.height);
        maps.push(oracleMap(label, img.width, img.height, fh, fw, o, makeRng(deriveSeed(o.seed, stringHash(path.basename(sources[k].file))))));
      }
      const out: Tensor<'float32'> = { dtype: 'float32', shape: [images.length, E, fh, fw], data: new Float32Array(images.length * E * fh * fw) };
      maps.forEach((m, k) => out.data.set(m, k * E * fh * fw));
      return out;
    },
  };
}

/** One image's oracle features [E,fh,fw]. */
export function oracleMap(label: Uint8Array, width: number, height: number, fh: number, fw: number, o: Pick<OracleOptions, 'text' | 'corruption' | 'noise'>, r: Rng): Float32Array {
  const [C, E] = o.text.shape;
  const text = o.text.data;
  const cells = fh * fw;
  // Class histogram per cell (average pooling of the one-hot labels to the teacher's stride).
  const hist = new Float32Array(cells * C);
  for (let y = 0; y < height; y++) {
    const cy = Math.min(fh - 1, Math.floor((y * fh) / height));
    for (let x = 0; x < width; x++) {
      const c = label[y * width + x];
      if (c >= C) continue;
      hist[(cy * fw + Math.min(fw - 1, Math.floor((x * fw) / width))) * C + c]++;
    }
  }
  // Corruption: blobs of one wrong class until the fraction of replaced cells is reached.
  const replaced = new Int32Array(cells).fill(-1);
  let count = 0;
  const target = Math.round(o.corruption * cells);
  while (count < target && C > 1) {
    const cy = r.int(fh);
    const cx = r.int(fw);
    const radius = 1 + r.int(3);
    const cls = r.int(C);
    for (let y = Math.max(0, cy - radius); y <= Math.min(fh - 1, cy + radius) && count < target; y++) {
      for (let x = Math.max(0, cx - radius); x <= Math.min(fw - 1, cx + radius) && count < target; x++) {
        const cell = y * fw + x;
        if (replaced[cell] >= 0 || (y - cy) ** 2 + (x - cx) ** 2 > radius * radius) continue;
        // "Another class": never the cell's own majority class.
        let major = -1;
        for (let c = 0, best = 0; c < C; c++) if (hist[cell * C + c] > best) [best, major] = [hist[cell * C + c], c];
        replaced[cell] = cls === major ? (cls + 1 + r.int(C - 1)) % C : cls;
        count++;
      }
    }
  }
  const out = new Float32Array(E * cells);
  const v = new Float32Array(E);
  for (let cell = 0; cell < cells; cell++) {
    v.fill(0);
    if (replaced[cell] >= 0) {
      for (let e = 0; e < E; e++) v[e] = text[replaced[cell] * E + e];
    } else {
      let total = 0;
      for (let c = 0; c < C; c++) total += hist[cell * C + c];
      for (let c = 0; c < C && total > 0; c++) {
        const w = hist[cell * C + c] / total;
        if (w > 0) for (let e = 0; e < E; e++) v[e] += w * text[c * E + e];
      }
    }
    let norm = 0;
    for (let e = 0; e < E; e++) {
      v[e] += o.noise * gaussian(r);
      norm += v[e] * v[e];
    }
    norm = Math.sqrt(norm) || 1;
    for (let e = 0; e < E; e++) out[e * cells + cell] = v[e] / norm;
  }
  return out;
}

function gaussian(r: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** FNV-1a of bytes: a short fingerprint (the oracle's features change with the text embeddings; each file gets its own corruption). */
function fnv(bytes: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h >>> 0;
}
const hashRows = (data: Float32Array) => fnv(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).toString(16);
const stringHash = (s: string) => fnv(Buffer.from(s));

/**
 * The controlled teacher over labelled datasets (an image's label found by its path), on the grid
 * CLIP's features would have at `side`. Refuses a dataset without label maps.
 */
export async function datasetOracle(datasets: Dataset[], clip: Clip, o: { side: number; oracleCorruption: number; oracleNoise: number }, templates: string[], seed: number): Promise<Teacher> {
  for (const ds of datasets) {
    if (!ds.classes || ds.items.some((i) => !i.label)) throw clips4Error(ErrorCodes.config, `clip.teacher 'oracle' builds the teacher from label maps, but ${ds.name} has none: use a labelled dataset (world, voc, context, cocostuff) or clip.teacher 'clip'`);
  }
  const items = new Map(datasets.flatMap((ds) => ds.items.map((item) => [item.image, { ds, item }] as const)));
  const multiple = clip.stride;
  return oracleTeacher({
    text: await clip.textClassifier(datasets[0].classes!, templates.length ? { templates } : {}),
    label: (source, width, height) => resizedLabel(items.get(source.file)!.ds, items.get(source.file)!.item, width, height, source.fit),
    grid: (width, height) => {
      const s = teacherInput(width, height, o.side, multiple);
      return { fh: s.height / multiple, fw: s.width / multiple };
    },
    corruption: o.oracleCorruption,
    noise: o.oracleNoise,
    seed,
  });
}
