import { pretrainClip } from '../../world/pretrain-clip';
import { intOption, numberOption, parse, required } from '../args';
import type { Command } from '../command';

export const worldPretrainClip: Command = {
  name: ['world', 'pretrain-clip'],
  summary: "train a small CLIP on a world's captions (zero-shot report)",
  usage: `Usage: clips4 world pretrain-clip --data DIR --out clip.safetensors [--minutes 7] [--max-steps N] [--batch 128] [--seed 0]

Trains an OpenAI-layout CLIP (ViT 192×4, patch 8 at 64²; text transformer 128×2; word tokenizer saved
beside the weights as <out>.tokenizer.json) with the symmetric contrastive loss, then reports zero-shot
top-1 on the world's single-class crops and the MaskCLIP-mode val mIoU (<out>.report.json).`,
  async run(argv) {
    const { values } = parse(argv, { data: { type: 'string' }, out: { type: 'string' }, minutes: { type: 'string' }, 'max-steps': { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' } }, false);
    const r = await pretrainClip({
      data: required(values, 'data'),
      out: required(values, 'out'),
      minutes: numberOption(values, 'minutes', 7),
      maxSteps: values['max-steps'] === undefined ? undefined : intOption(values, 'max-steps', 0, 1),
      batch: intOption(values, 'batch', 128, 2),
      seed: intOption(values, 'seed', 0, 0),
      log: (l) => process.stderr.write(l + '\n'),
    });
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  },
};
