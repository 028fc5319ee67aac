// Language-driven evaluation on a labelled dataset (paper Table 2, and Table 3 with unknown folds):
// every pixel takes the class whose text embedding is closest to its embedding (the Segmenter), one
// confusion matrix over the whole split, ignore 255.
import { readLabel, type Dataset } from '../data/datasets';
import { clips4Error, ErrorCodes } from '../errors';
import type { Segmenter, SegmentOptions } from '../infer/segmenter';
import { ConfusionMatrix } from './metrics';

export interface EvaluatedImage {
  id: string;
  image: string;
  pred: Uint16Array;
  gt: Uint8Array;
  width: number;
  height: number;
}

export interface LanguageResult {
  cm: ConfusionMatrix;
  classes: string[];
  images: number;
  /** The first `keep` images with prediction and ground truth (for overlay figures). */
  kept: EvaluatedImage[];
}

export async function languageEvaluate(seg: Segmenter, ds: Dataset, o: { limit?: number; keep?: number; log?: (line: string) => void } & Pick<SegmentOptions, 'templates' | 'denoise' | 'keySmoothing'> = {}): Promise<LanguageResult> {
  if (!ds.classes) throw clips4Error(ErrorCodes.dataset, `${ds.name} has no class names: language-driven evaluation needs a labelled dataset`);
  const classes = ds.classes;
  const items = ds.items.slice(0, o.limit ?? ds.items.length);
  const cm = new ConfusionMatrix(classes.length);
  const kept: EvaluatedImage[] = [];
  // A few images at a time so the Segmenter can micro-batch those of equal size.
  const group = 4;
  for (let i = 0; i < items.length; i += group) {
    const part = items.slice(i, i + group);
    const segs = await seg.segment(part.map((it) => it.image), { classes, templates: o.templates, denoise: o.denoise, keySmoothing: o.keySmoothing });
    part.forEach((it, k) => {
      const s = segs[k];
      const gt = readLabel(ds, it, { width: s.width, height: s.height });
      cm.add(s.labels, gt.data);
      if (kept.length < (o.keep ?? 6)) kept.push({ id: it.id, image: it.image, pred: s.labels, gt: gt.data, width: s.width, height: s.height });
    });
    const done = Math.min(i + group, items.length);
    if (done % 100 < group || done === items.length) o.log?.(`${done}/${items.length} images`);
  }
  return { cm, classes, images: items.length, kept };
}
