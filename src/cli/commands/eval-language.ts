import * as path from 'node:path';
import { readLabel, type Dataset } from '../../data/datasets';
import { ClassMeans } from '../../eval/class-means';
import { unknownFolds } from '../../eval/folds';
import { languageEvaluate } from '../../eval/language';
import type { Segmenter } from '../../infer/segmenter';
import { PixelEmbedder } from '../../net/embedder';
import { loadImage } from '../../image/load';
import { writePerClassIou } from '../../plot/bars';
import { writeLabelGrid } from '../../plot/overlays';
import { writeProjection } from '../../plot/projection';
import { intOption, parse } from '../args';
import { UsageError, type Command } from '../command';
import { datasetName, datasetOptions, datasetUsage, describeFeatures, limitItems, loadSegmenter, namedIou, openDataset, outDir, pct, refinements, refineOptions, refineUsage, scoreMarkdown, table, writeReport } from './eval-common';

/** Supplement Fig. 2: class-mean embeddings of the model and of CLIP (MaskCLIP) projected together; returns the figure's description. */
async function projectClassMeans(values: Record<string, unknown>, model: Segmenter, ds: Dataset, classes: string[], images: number, file: string): Promise<string> {
  const sources = [
    { label: 'CLIP (MaskCLIP)', seg: await loadSegmenter({ ...values, model: undefined }) },
    { label: 'CLIP-S4', seg: model },
  ];
  const acc = sources.map(() => new ClassMeans(classes.length));
  const items = ds.items.slice(0, images);
  for (const item of items) {
    const gt = readLabel(ds, item);
    for (const [i, s] of sources.entries()) acc[i].add(await s.seg.embed(item.image), 0, gt);
  }
  const present = acc[0].present();
  if (present.length < 2) return `not drawn: fewer than two classes in the first ${items.length} images`;
  const means = acc.map((a) => a.means());
  await writeProjection(file, present.map((c) => [c, classes[c]]), sources.map((s, i) => ({ label: s.label, points: present.map((c) => means[i][c]) })));
  return `UMAP of the class-mean embeddings of CLIP (circles) and the model (squares) over ${items.length} images, ${present.length} classes`;
}

/**
 * A class-free score is meaningful only for the fold the model was trained without: refuses a fold
 * whose classes are not the model's held-out classes (recorded in its .json by training and export).
 */
function checkHeldOut(model: string, folds: string[][]): void {
  const training = PixelEmbedder.training(model);
  if (!training) {
    process.stderr.write(`eval language: warning: ${model.replace(/\.safetensors$/, '')}.json does not record which classes training held out; the class-free scores assume it was the fold(s) evaluated\n`);
    return;
  }
  const held = [...training.heldOut].sort().join(', ');
  for (const fold of folds) {
    if ([...fold].sort().join(', ') !== held) {
      throw new UsageError(`the model ${model} was trained with ${held ? `${held} held out` : 'no class held out'}, but the fold holds ${fold.join(', ')}: evaluate it with --fold for the fold it was trained without, or without --unknown`);
    }
  }
}

export const evalLanguage: Command = {
  name: ['eval', 'language'],
  summary: 'language-driven segmentation mIoU/pAcc/mAcc (Table 2); known/unknown/hIoU per fold (Table 3)',
  usage: `Usage: clips4 eval language --dataset voc|context|cocostuff --root DIR --clip FILE [--model FILE]
                            [--unknown none|fold] [--fold N] [--split val] [--limit N] --out DIR

Every pixel takes the class whose text embedding (85 templates) is closest to its embedding; one
confusion matrix over the split, pixels labelled 255 ignored. With --unknown fold, also the class-free
scores: mIoU over the known classes, over the unknown fold, and their harmonic mean (hIoU), for each
fold of the dataset (Context: the paper's 4 folds; VOC, COCO-Stuff: MaskCLIP+'s unseen classes) or
only --fold N. Evaluate a model against the fold it was trained without.

${datasetUsage}
${refineUsage}
  --unknown none|fold   class-free scores by unknown fold (default none)
  --fold N          only fold N (0-based)
  --projection-images N   with --model: images whose class-mean embeddings (model and CLIP) are
                    projected together by UMAP into projection.png (default 50)`,
  async run(argv) {
    const { values } = parse(argv, { ...datasetOptions, ...refineOptions, unknown: { type: 'string' }, fold: { type: 'string' }, 'projection-images': { type: 'string' } }, false);
    const name = datasetName(values);
    const unknown = (values.unknown as string | undefined) ?? 'none';
    if (unknown !== 'none' && unknown !== 'fold') throw new UsageError(`--unknown expects none or fold, got '${unknown}'`);
    const allFolds = unknown === 'fold' ? unknownFolds(name) : [];
    const foldIds = values.fold === undefined ? allFolds.map((_, i) => i) : [intOption(values, 'fold', 0, 0)];
    if (unknown === 'fold' && foldIds.some((f) => f >= allFolds.length)) throw new UsageError(`--fold expects 0..${allFolds.length - 1} for ${name}, got ${values.fold as string}`);
    if (unknown === 'none' && values.fold !== undefined) throw new UsageError('--fold needs --unknown fold');
    if (unknown === 'fold' && typeof values.model === 'string') checkHeldOut(values.model, foldIds.map((f) => allFolds[f]));
    const ds = limitItems(openDataset(values), values);
    const out = outDir(values);
    const seg = await loadSegmenter(values);
    const r = await languageEvaluate(seg, ds, { ...refinements(values), log: (l) => process.stderr.write(`eval language: ${l}\n`) });
    const s = r.cm.scores();
    const folds = foldIds.map((f) => {
      const names = allFolds[f];
      const cf = r.cm.classFree(names.map((n) => r.classes.indexOf(n)));
      return { fold: f, unknownClasses: names, known: cf.known, unknown: cf.unknown, hiou: cf.hiou };
    });
    const marked = folds.length === 1 ? folds[0].unknownClasses : [];
    await writePerClassIou(path.join(out, 'per-class-iou.png'), r.classes, s.per_class_iou, { title: `${name} per-class IoU (%)`, marked });
    const rows = await Promise.all(r.kept.map(async (k) => ({ image: await loadImage(k.image), maps: [k.gt, k.pred] })));
    await writeLabelGrid(path.join(out, 'overlays.png'), rows, { columns: ['image', 'ground truth', 'prediction'], names: r.classes, marked });
    const projection = values.model ? await projectClassMeans(values, seg, ds, r.classes, intOption(values, 'projection-images', 50, 1), path.join(out, 'projection.png')) : undefined;
    const json = {
      task: 'language',
      dataset: name,
      split: ds.name,
      images: r.images,
      features: describeFeatures(values),
      miou: s.miou,
      pacc: s.pacc,
      macc: s.macc,
      note: s.note,
      per_class_iou: namedIou(r.classes, s.per_class_iou),
      ...(folds.length ? { classFree: folds } : {}),
      confusion: r.cm.rows(),
    };
    const md = scoreMarkdown({
      title: `Language-driven segmentation: ${name} (${ds.name}, ${r.images} images)`,
      setting: `Features: ${describeFeatures(values)}. ${s.note}`,
      section: 'Table 2 (mIoU, pAcc, mAcc in %)',
      values,
      scores: s,
      classes: r.classes,
      marked,
      extra: folds.length ? [['## Table 3: class-free (unknown fold held out in training)', table(['fold', 'mIoU_u', 'mIoU_k', 'hIoU', 'unknown classes'], folds.map((f) => [`fold${f.fold}`, pct(f.unknown), pct(f.known), pct(f.hiou), f.unknownClasses.join(', ')]))].join('\n')] : [],
      figures: [
        '`per-class-iou.png`: per-class IoU' + (marked.length ? ' (unknown classes in orange)' : ''),
        '`overlays.png`: the first images with ground truth and prediction',
        ...(projection ? [`\`projection.png\`: ${projection}`] : []),
      ],
    });
    writeReport(out, json, md);
    process.stdout.write(`mIoU ${pct(s.miou)}  pAcc ${pct(s.pacc)}  mAcc ${pct(s.macc)}${folds.map((f) => `\nfold${f.fold}: unknown ${pct(f.unknown)} known ${pct(f.known)} hIoU ${pct(f.hiou)}`).join('')}\n`);
    return 0;
  },
};
