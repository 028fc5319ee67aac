import * as path from 'node:path';
import { knnDatasets } from '../../eval/segments';
import { writePerClassIou } from '../../plot/bars';
import { intOption, parse } from '../args';
import { UsageError, type Command } from '../command';
import { datasetName, datasetOptions, datasetUsage, describeFeatures, limitItems, loadSegmenter, namedIou, openDataset, outDir, pct, scoreMarkdown, writeReport } from './eval-common';

export const evalKnn: Command = {
  name: ['eval', 'knn'],
  summary: 'unsupervised k-NN segmentation mIoU (k-means segments, nearest training segments; Table 4)',
  usage: `Usage: clips4 eval knn --dataset voc|context|cocostuff --root DIR --clip FILE [--model FILE]
                       [--train-split train] [--train-limit N] [--grid 6] [--k 20] --out DIR

SegSort protocol: every image is cut into grid×grid (36) segments by spherical k-means on its
embeddings; training segments take their majority ground-truth label (majority 'ignore' dropped);
each evaluation segment takes the majority label of its k nearest training segments (cosine).
No text is used; VOC's background is an ordinary class.

${datasetUsage}
  --train-split NAME  the labelled split the neighbours come from (default train; train2017)
  --train-limit N     use only the first N training images
  --grid G          k-means grid per image: G×G segments (default 6)
  --k K             neighbours (default 20)`,
  async run(argv) {
    const { values } = parse(argv, { ...datasetOptions, 'train-split': { type: 'string' }, 'train-limit': { type: 'string' }, grid: { type: 'string' }, k: { type: 'string' } }, false);
    const name = datasetName(values);
    const g = intOption(values, 'grid', 6, 1);
    const k = intOption(values, 'k', 20, 1);
    const val = limitItems(openDataset(values), values);
    const train = limitItems(openDataset(values, 'train'), values, 'train-limit');
    const out = outDir(values);
    const seg = await loadSegmenter(values, { oneAtATime: true });
    const log = (l: string) => process.stderr.write(`eval knn: ${l}\n`);
    const classes = val.classes!;
    const { cm } = await knnDatasets((image) => seg.embed(image), train, val, { grid: [g, g], k, log });
    const s = cm.scores();
    await writePerClassIou(path.join(out, 'per-class-iou.png'), classes, s.per_class_iou, { title: `${name} k-NN per-class IoU (%)` });
    const json = { task: 'knn', dataset: name, split: val.name, trainSplit: train.name, images: val.items.length, trainImages: train.items.length, segmentsPerImage: g * g, k, features: describeFeatures(values), miou: s.miou, pacc: s.pacc, macc: s.macc, note: s.note, per_class_iou: namedIou(classes, s.per_class_iou), confusion: cm.rows() };
    const md = scoreMarkdown({
      title: `Unsupervised k-NN segmentation: ${name} (${val.name}, ${val.items.length} images; neighbours from ${train.name}, ${train.items.length} images)`,
      setting: `Features: ${describeFeatures(values)}. ${g * g} k-means segments per image (fewer when the feature map is smaller than the grid), ${k} nearest training segments, majority vote. ${s.note}`,
      section: 'Table 4 (%)',
      values,
      scores: s,
      classes,
      figures: ['`per-class-iou.png`: per-class IoU'],
    });
    writeReport(out, json, md);
    process.stdout.write(`k-NN mIoU ${pct(s.miou)}  pAcc ${pct(s.pacc)}  mAcc ${pct(s.macc)}\n`);
    return 0;
  },
};
