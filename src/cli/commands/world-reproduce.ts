import { headline, reproduce } from '../../world/reproduce';
import { intOption, parse, required } from '../args';
import type { Command } from '../command';

export const worldReproduce: Command = {
  name: ['world', 'reproduce'],
  summary: "the paper's tables in miniature on a generated world",
  usage: `Usage: clips4 world reproduce --data DIR --clip clip.safetensors --out DIR [--iterations 300] [--train-images 1500] [--val-images 200] [--seed 0]

Holds out the world's unknown fold, trains MaskCLIP+, CLIP-S4 and the loss ablation, and writes
report.md, report.json and figures (overlays, per-class IoU, embedding projection) to --out.`,
  async run(argv) {
    const { values } = parse(argv, { data: { type: 'string' }, clip: { type: 'string' }, out: { type: 'string' }, iterations: { type: 'string' }, 'train-images': { type: 'string' }, 'val-images': { type: 'string' }, seed: { type: 'string' } }, false);
    const r = await reproduce({
      data: required(values, 'data'),
      clip: required(values, 'clip'),
      out: required(values, 'out'),
      iterations: intOption(values, 'iterations', 300, 1),
      trainImages: intOption(values, 'train-images', 1500, 8),
      valImages: intOption(values, 'val-images', 200, 1),
      seed: intOption(values, 'seed', 0, 0),
      log: (l) => process.stderr.write(l + '\n'),
    });
    process.stdout.write(headline(r) + '\n');
    return 0;
  },
};
