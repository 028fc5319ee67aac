// Language-driven evaluation on the world's val split: every pixel takes the class whose text
// embedding is closest to its (CLIP dense or CLIP-S4) embedding; mIoU over the whole split.
import { Clip } from '../clip/clip';
import { ConfusionMatrix } from '../eval/metrics';
import { normalizeImages } from '../image/normalize';
import { call, native } from '../native';
import type { Tensor } from '../tensor';
import { imagePath, loadImages, readClassLabels, splitIds, type WorldInfo } from './data';

/** Something that maps a batch of normalised images [N,3,H,W] to dense embeddings [N,E,h,w]. */
export type DenseEncoder = (images: Tensor<'float32'>) => Promise<Tensor<'float32'>>;

export async function languageConfusion(encode: DenseEncoder, classifier: Tensor<'float32'>, dir: string, world: WorldInfo, limit: number, onPrediction?: (id: string, pred: Uint16Array) => void): Promise<ConfusionMatrix> {
  const ids = splitIds(dir, 'val').slice(0, limit);
  const cm = new ConfusionMatrix(world.names.length);
  for (let i = 0; i < ids.length; i += 16) {
    const part = ids.slice(i, i + 16);
    const imgs = await loadImages(part.map((id) => imagePath(dir, id)));
    const feats = await encode(normalizeImages(imgs));
    const { width, height } = imgs[0];
    const r = await call(() => native().segment.classify(feats, classifier, { height, width }));
    const plane = width * height;
    part.forEach((id, k) => {
      const pred = new Uint16Array((r.labels.data as Int32Array).subarray(k * plane, (k + 1) * plane));
      cm.add(pred, readClassLabels(dir, id, world.labelOffset).data);
      onPrediction?.(id, pred);
    });
  }
  return cm;
}

/** MaskCLIP mode: CLIP's own dense features. */
export async function maskclipMiou(clip: Clip, dir: string, world: WorldInfo, options: { templates: string[]; limit: number }): Promise<number> {
  const classifier = await clip.textClassifier(world.names, { templates: options.templates });
  const cm = await languageConfusion((x) => clip.denseFeatures(x), classifier, dir, world, options.limit);
  return cm.miou();
}
