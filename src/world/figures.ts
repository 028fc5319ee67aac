// The world report's figures (overlays, per-class IoU, projection), drawn by src/plot from the
// Segmenters of the teacher (MaskCLIP), MaskCLIP+ and CLIP-S4.
import * as path from 'node:path';
import { readLabel, type Dataset } from '../data/datasets';
import { ClassMeans } from '../eval/class-means';
import { loadImage } from '../image/load';
import { Segmenter } from '../infer/segmenter';
import { writePerClassIou } from '../plot/bars';
import { writeLabelGrid } from '../plot/overlays';
import { writeProjection } from '../plot/projection';
import type { WorldInfo } from './data';

export interface FigureInputs {
  world: WorldInfo;
  clipFile: string;
  /** Shorter side the teacher (MaskCLIP) sees, and the side the trained models see. */
  side: number;
  size: number;
  clips4: string;
  /** CLIP-S4's per-class IoU on `val` (from the report's evaluation). */
  clips4Iou: (number | null)[];
  plus: string;
  val: Dataset;
  /** Classes held out in the runs drawn (marked in the figures). */
  marked: string[];
  templates: string[];
}

export async function writeFigures(out: string, f: FigureInputs): Promise<void> {
  const names = f.world.names;
  const teacher = await Segmenter.load({ clip: f.clipFile, size: f.side });
  const plus = await Segmenter.load({ clip: f.clipFile, model: f.plus, size: f.size });
  const clips4 = await Segmenter.load({ clip: f.clipFile, model: f.clips4, size: f.size });
  const shown = f.val.items.slice(0, 6);
  const segment = (s: Segmenter) => s.segment(shown.map((i) => i.image), { classes: names, templates: f.templates });
  const preds = [await segment(teacher), await segment(plus), await segment(clips4)];
  const rows = await Promise.all(shown.map(async (item, r) => ({ image: await loadImage(item.image), maps: [readLabel(f.val, item).data, ...preds.map((p) => p[r].labels)] })));
  const H = rows[0].image.height;
  await writeLabelGrid(path.join(out, 'overlays.png'), rows, { columns: ['image', 'ground truth', 'MaskCLIP', 'MaskCLIP+', 'CLIP-S4'], names, marked: f.marked, tileHeight: 2 * H });

  await writePerClassIou(path.join(out, 'per-class-iou.png'), names, f.clips4Iou, { title: 'CLIP-S4 per-class IoU (%)', marked: f.marked });

  // Class-mean embeddings of CLIP and CLIP-S4 on the val images, projected together by UMAP.
  const means = async (s: Segmenter) => {
    const acc = new ClassMeans(names.length);
    for (const item of f.val.items.slice(0, 100)) acc.add(await s.embed(item.image), 0, readLabel(f.val, item));
    return acc.means();
  };
  await writeProjection(path.join(out, 'projection.png'), names.map((n, i) => [i, n]), [
    { label: 'CLIP (MaskCLIP)', points: await means(teacher) },
    { label: 'CLIP-S4', points: await means(clips4) },
  ]);
}
