import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../../errors';
import { ConfusionMatrix } from '../../eval/metrics';
import { decodeIndexedPng } from '../../io/png';
import { intOption, parse, required } from '../args';
import type { Command } from '../command';

export const score: Command = {
  name: ['score'],
  summary: 'mIoU, pAcc, mAcc of indexed-PNG predictions against ground truth',
  usage: `Usage: clips4 score --pred DIR --gt DIR --num-classes N [--ignore 255] [--json]

Pairs PNGs by file name; every ground-truth file needs a prediction. Accumulates one confusion matrix
over the whole split; classes absent from both prediction and ground truth are excluded from the mean.`,
  async run(argv) {
    const { values } = parse(argv, { pred: { type: 'string' }, gt: { type: 'string' }, 'num-classes': { type: 'string' }, ignore: { type: 'string' }, json: { type: 'boolean' } }, false);
    const predDir = required(values, 'pred');
    const gtDir = required(values, 'gt');
    const cm = new ConfusionMatrix(intOption(values, 'num-classes', 0, 1), intOption(values, 'ignore', 255, 0));
    const files = fs.readdirSync(gtDir).filter((f) => f.endsWith('.png')).sort();
    if (files.length === 0) throw clips4Error(ErrorCodes.file, `${gtDir} holds no .png label maps`);
    for (const f of files) {
      const p = path.join(predDir, f);
      if (!fs.existsSync(p)) throw clips4Error(ErrorCodes.file, `no prediction ${p} for ground truth ${path.join(gtDir, f)}`);
      const gt = decodeIndexedPng(fs.readFileSync(path.join(gtDir, f)), path.join(gtDir, f));
      const pr = decodeIndexedPng(fs.readFileSync(p), p);
      if (gt.width !== pr.width || gt.height !== pr.height) throw clips4Error(ErrorCodes.shape, `${p} is ${pr.width}×${pr.height} but ${path.join(gtDir, f)} is ${gt.width}×${gt.height}`);
      cm.add(pr.data, gt.data);
    }
    const s = { ...cm.scores(), confusion: cm.rows(), images: files.length };
    if (values.json) process.stdout.write(JSON.stringify(s) + '\n');
    else process.stdout.write(`images ${files.length}\nmIoU   ${(s.miou * 100).toFixed(2)}\npAcc   ${(s.pacc * 100).toFixed(2)}\nmAcc   ${(s.macc * 100).toFixed(2)}\n${s.note}\n`);
    return 0;
  },
};
