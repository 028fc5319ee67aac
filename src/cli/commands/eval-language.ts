import * as path from 'node:path';
import { unknownFolds } from '../../eval/folds';
import { languageEvaluate } from '../../eval/language';
import { loadImage } from '../../image/load';
import { writePerClassIou } from '../../plot/bars';
import { writeLabelGrid } from '../../plot/overlays';
import { intOption, parse } from '../args';
import { UsageError, type Command } from '../command';
import { datasetName, datasetOptions, datasetUsage, describeFeatures, limitItems, loadSegmenter, namedIou, openDataset, outDir, pct, scoreMarkdown, table, writeReport } from './eval-common';

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
  --unknown none|fold   class-free scores by unknown fold (default none)
  --fold N          only fold N (0-based)`,
  async run(argv) {
    const { values } = parse(argv, { ...datasetOptions, unknown: { type: 'string' }, fold: { type: 'string' } }, false);
    const name = datasetName(values);
    const unknown = (values.unknown as string | undefined) ?? 'none';
    if (unknown !== 'none' && unknown !== 'fold') throw new UsageError(`--unknown expects none or fold, got '${unknown}'`);
    const allFolds = unknown === 'fold' ? unknownFolds(name) : [];
    const foldIds = values.fold === undefined ? allFolds.map((_, i) => i) : [intOption(values, 'fold', 0, 0)];
    if (unknown === 'fold' && foldIds.some((f) => f >= allFolds.length)) throw new UsageError(`--fold expects 0..${allFolds.length - 1} for ${name}, got ${values.fold as string}`);
    if (unknown === 'none' && values.fold !== undefined) throw new UsageError('--fold needs --unknown fold');
    const ds = limitItems(openDataset(values), values);
    const out = outDir(values);
    const seg = await loadSegmenter(values);
    const r = await languageEvaluate(seg, ds, { log: (l) => process.stderr.write(`eval language: ${l}\n`) });
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
      figures: ['`per-class-iou.png`: per-class IoU' + (marked.length ? ' (unknown classes in orange)' : ''), '`overlays.png`: the first images with ground truth and prediction'],
    });
    writeReport(out, json, md);
    process.stdout.write(`mIoU ${pct(s.miou)}  pAcc ${pct(s.pacc)}  mAcc ${pct(s.macc)}${folds.map((f) => `\nfold${f.fold}: unknown ${pct(f.unknown)} known ${pct(f.known)} hIoU ${pct(f.hiou)}`).join('')}\n`);
    return 0;
  },
};
