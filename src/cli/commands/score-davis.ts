import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../../errors';
import { davisScores } from '../../eval/davis';
import { decodeIndexedPng } from '../../io/png';
import { parse, required } from '../args';
import type { Command } from '../command';

export const scoreDavis: Command = {
  name: ['score-davis'],
  summary: 'DAVIS region J and boundary F of predicted masks',
  usage: `Usage: clips4 score-davis --pred DIR --gt DIR [--json]

DIR/<sequence>/<frame>.png hold object ids (indexed PNGs). J (IoU) and F (boundary F-measure, bound
0.008 of the diagonal) per object over the frames after the first, averaged over objects, then
sequences.`,
  async run(argv) {
    const { values } = parse(argv, { pred: { type: 'string' }, gt: { type: 'string' }, json: { type: 'boolean' } }, false);
    const predDir = required(values, 'pred');
    const gtDir = required(values, 'gt');
    const seqs = fs.readdirSync(gtDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    if (!seqs.length) throw clips4Error(ErrorCodes.file, `${gtDir} holds no sequence folders`);
    const input = seqs.map((name) => {
      const frames = fs.readdirSync(path.join(gtDir, name)).filter((f) => f.endsWith('.png')).sort();
      const read = (dir: string, f: string) => {
        const file = path.join(dir, name, f);
        if (!fs.existsSync(file)) throw clips4Error(ErrorCodes.file, `no prediction ${file} for ${path.join(gtDir, name, f)}`);
        return decodeIndexedPng(fs.readFileSync(file), file);
      };
      const gt = frames.map((f) => read(gtDir, f));
      const pred = frames.map((f) => read(predDir, f));
      pred.forEach((p, i) => {
        if (p.width !== gt[i].width || p.height !== gt[i].height) throw clips4Error(ErrorCodes.shape, `${path.join(predDir, name, frames[i])} is ${p.width}×${p.height}, its ground truth ${gt[i].width}×${gt[i].height}`);
      });
      return { name, pred: pred.map((p) => p.data), gt: gt.map((g) => g.data), width: gt[0].width, height: gt[0].height };
    });
    const s = davisScores(input);
    if (values.json) process.stdout.write(JSON.stringify(s) + '\n');
    else process.stdout.write(`J ${(s.J * 100).toFixed(1)}  F ${(s.F * 100).toFixed(1)}  J&F ${(s.JF * 100).toFixed(1)}  (${seqs.length} sequences)\n`);
    return 0;
  },
};
