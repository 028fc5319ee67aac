// The world report's figures (overlays, per-class IoU, projection), drawn by src/plot.
import * as path from 'node:path';
import type { Clip } from '../clip/clip';
import type { ConfusionMatrix } from '../eval/metrics';
import { normalizeImages } from '../image/normalize';
import { call, native } from '../native';
import type { PixelEmbedder } from '../net/embedder';
import type { Tensor } from '../tensor';
import { imagePath, loadImages, readClassLabels, splitIds, type WorldInfo } from './data';
import { ClassMeans } from '../eval/class-means';
import { writeProjection } from '../plot/projection';
import { writePerClassIou } from '../plot/bars';
import { writeLabelGrid } from '../plot/overlays';

export async function writeFigures(
  out: string,
  f: { world: WorldInfo; clip: Clip; embedder: PixelEmbedder; plus: PixelEmbedder; allText: Tensor<'float32'>; results: Map<string, { cm: ConfusionMatrix }>; maskclipCm: ConfusionMatrix },
): Promise<void> {
  const { world } = f;
  // Overlays: image | ground truth | MaskCLIP | MaskCLIP+ | CLIP-S4 for six val images.
  const ids = splitIds(world.dir, 'val').slice(0, 6);
  const imgs = await loadImages(ids.map((id) => imagePath(world.dir, id)));
  const x = normalizeImages(imgs);
  const { width: W, height: H } = imgs[0];
  const predict = async (feats: Tensor<'float32'>) => (await call(() => native().segment.classify(feats, f.allText, { height: H, width: W }))).labels.data as Int32Array;
  const preds = [await predict(await f.clip.denseFeatures(x)), await predict(await f.plus.embed(x)), await predict(await f.embedder.embed(x))];
  const rows = ids.map((id, r) => ({ image: imgs[r], maps: [readClassLabels(world.dir, id, world.labelOffset).data, ...preds.map((p) => p.subarray(r * W * H, (r + 1) * W * H))] }));
  await writeLabelGrid(path.join(out, 'overlays.png'), rows, { columns: ['image', 'ground truth', 'MaskCLIP', 'MaskCLIP+', 'CLIP-S4'], names: world.names, marked: world.unknownFold, tileHeight: 2 * H });

  // Per-class IoU bars of CLIP-S4.
  await writePerClassIou(path.join(out, 'per-class-iou.png'), world.names, f.results.get('clips4')!.cm.iou(), { title: 'CLIP-S4 per-class IoU (%)', marked: world.unknownFold });

  // Class-mean embeddings of CLIP and CLIP-S4 on the val images, projected together by UMAP.
  const means = async (encode: (t: Tensor<'float32'>) => Promise<Tensor<'float32'>>) => {
    const vids = splitIds(world.dir, 'val').slice(0, 100);
    const acc = new ClassMeans(world.names.length);
    for (let i = 0; i < vids.length; i += 25) {
      const part = vids.slice(i, i + 25);
      const e = await encode(normalizeImages(await loadImages(part.map((id) => imagePath(world.dir, id)))));
      part.forEach((id, k) => acc.add(e, k, readClassLabels(world.dir, id, world.labelOffset)));
    }
    return acc.means();
  };
  await writeProjection(path.join(out, 'projection.png'), world.names.map((n, i) => [i, n]), [
    { label: 'CLIP (MaskCLIP)', points: await means((t) => f.clip.denseFeatures(t)) },
    { label: 'CLIP-S4', points: await means((t) => f.embedder.embed(t)) },
  ]);
}
