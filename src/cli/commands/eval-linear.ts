import * as path from 'node:path';
import { readLabel } from '../../data/datasets';
import { concatRows, PROBE_DEFAULTS, probePredict, sampleCells, trainLinearProbe } from '../../eval/linear';
import { ConfusionMatrix } from '../../eval/metrics';
import { loadImage } from '../../image/load';
import { writePerClassIou } from '../../plot/bars';
import { writeLabelGrid, type GridRow } from '../../plot/overlays';
import { intOption, numberOption, parse } from '../args';
import type { Command } from '../command';
import { datasetName, datasetOptions, datasetUsage, describeFeatures, limitItems, loadSegmenter, namedIou, openDataset, outDir, pct, scoreMarkdown, writeReport } from './eval-common';

export const evalLinear: Command = {
  name: ['eval', 'linear'],
  summary: 'linear probe (1×1 classifier on frozen embeddings, SGD + poly lr) mIoU',
  usage: `Usage: clips4 eval linear --dataset voc|context|cocostuff --root DIR --clip FILE [--model FILE]
                          [--train-split train] [--train-limit N] [--pixels-per-image 128]
                          [--iterations 2000] [--batch 1024] [--lr 0.1] --out DIR

Trains a 1×1 classifier (softmax cross-entropy, pixels labelled 255 ignored) on the frozen, L2-normalised
embeddings of the training split (a random sample of labelled feature cells per image), with SGD
(momentum 0.9, weight decay 1e-4) and poly lr decay from --lr, then scores it by mIoU on --split with
logits upsampled to the label size.

${datasetUsage}
  --train-split NAME     labelled training split (default train; train2017)
  --train-limit N        use only the first N training images
  --pixels-per-image N   feature cells sampled per training image (default 128)
  --iterations N, --batch N, --lr X   SGD schedule (defaults ${PROBE_DEFAULTS.iterations}, ${PROBE_DEFAULTS.batch}, ${PROBE_DEFAULTS.lr})`,
  async run(argv) {
    const { values } = parse(argv, { ...datasetOptions, 'train-split': { type: 'string' }, 'train-limit': { type: 'string' }, 'pixels-per-image': { type: 'string' }, iterations: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' } }, false);
    const name = datasetName(values);
    const perImage = intOption(values, 'pixels-per-image', 128, 1);
    const training = { iterations: intOption(values, 'iterations', PROBE_DEFAULTS.iterations, 1), batch: intOption(values, 'batch', PROBE_DEFAULTS.batch, 1), lr: numberOption(values, 'lr', PROBE_DEFAULTS.lr), seed: intOption(values, 'seed', 0, 0) };
    const val = limitItems(openDataset(values), values);
    const train = limitItems(openDataset(values, 'train'), values, 'train-limit');
    const out = outDir(values);
    const seg = await loadSegmenter(values, { oneAtATime: true });
    const classes = val.classes!;
    const log = (l: string) => process.stderr.write(`eval linear: ${l}\n`);
    const parts: { x: Float32Array; y: Uint8Array }[] = [];
    let dim = 0;
    for (const [i, item] of train.items.entries()) {
      const f = await seg.embed(item.image);
      const [, D, h, w] = f.shape;
      dim = D;
      parts.push(sampleCells(f.data, D, h, w, readLabel(train, item), perImage, training.seed * 100003 + i));
    }
    const data = concatRows(parts, dim);
    log(`${data.y.length} training cells from ${train.items.length} images, ${dim}-d embeddings`);
    const probe = await trainLinearProbe(data, classes.length, training, (it, loss) => log(`iteration ${it}: loss ${loss.toFixed(4)}`));
    const cm = new ConfusionMatrix(classes.length);
    const rows: GridRow[] = [];
    for (const item of val.items) {
      const [f, image] = await Promise.all([seg.embed(item.image), loadImage(item.image)]);
      const [, , h, w] = f.shape;
      const gt = readLabel(val, item, image);
      const pred = await probePredict(probe, f.data, h, w, image.width, image.height);
      cm.add(pred, gt.data);
      if (rows.length < 6) rows.push({ image, maps: [gt.data, pred] });
    }
    const s = cm.scores();
    await writePerClassIou(path.join(out, 'per-class-iou.png'), classes, s.per_class_iou, { title: `${name} linear probe per-class IoU (%)` });
    await writeLabelGrid(path.join(out, 'overlays.png'), rows, { columns: ['image', 'ground truth', 'linear probe'], names: classes });
    const json = { task: 'linear', dataset: name, split: val.name, trainSplit: train.name, images: val.items.length, trainImages: train.items.length, trainCells: data.y.length, training: { ...PROBE_DEFAULTS, ...training, pixelsPerImage: perImage }, features: describeFeatures(values), miou: s.miou, pacc: s.pacc, macc: s.macc, note: s.note, per_class_iou: namedIou(classes, s.per_class_iou), confusion: cm.rows() };
    const md = scoreMarkdown({
      title: `Linear probe: ${name} (${val.name}, ${val.items.length} images; trained on ${train.name}, ${train.items.length} images)`,
      setting: `Features: ${describeFeatures(values)}, frozen and L2-normalised. A 1×1 classifier trained for ${training.iterations} SGD steps of ${training.batch} cells (poly lr from ${training.lr}) on ${data.y.length} labelled cells. ${s.note}`,
      section: 'Linear probe (%)',
      values,
      scores: s,
      classes,
      figures: ['`per-class-iou.png`: per-class IoU', "`overlays.png`: the first images with ground truth and the probe's prediction"],
    });
    writeReport(out, json, md);
    process.stdout.write(`linear probe mIoU ${pct(s.miou)}  pAcc ${pct(s.pacc)}  mAcc ${pct(s.macc)}\n`);
    return 0;
  },
};
