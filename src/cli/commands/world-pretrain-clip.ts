import { pretrainClip } from '../../world/pretrain-clip';
import { intOption, numberOption, parse, required } from '../args';
import type { Command } from '../command';
import { invalidParameter } from '../../errors';

export const worldPretrainClip: Command = {
  name: ['world', 'pretrain-clip'],
  summary: "train a small CLIP on a world's captions (zero-shot report)",
  usage: `Usage: clips4 world pretrain-clip --data DIR --out clip.safetensors [--minutes 7] [--max-steps N] [--batch 64] [--lr 2e-3]
       [--kind vit|resnet] [--width 128] [--layers 4] [--resnet-layers 1,1,1,1] [--resolution 48] [--dense-side 0]
       [--min-crop 0.5] [--crop-pairs 0] [--crop-side 0.2,0.5] [--seed 0]

Trains an OpenAI-layout CLIP (a ViT width×layers with patch 8, or a ModifiedResNet of width and
blocks per stage, at the given resolution; text transformer 128×2; word tokenizer saved beside the
weights as <out>.tokenizer.json) with the symmetric contrastive loss, then reports zero-shot top-1
on the world's single-class crops and the MaskCLIP-mode val mIoU with the images resized to
--dense-side (0 = as they are) (<out>.report.json, with the options that reproduce the run).
--crop-pairs F makes a fraction F of each batch region crops captioned with the classes they show,
--crop-side a,b their side as a fraction of the image (0.5 at resolution 48 on 96-pixel worlds matches
the scale MaskCLIP sees at evaluation).`,
  async run(argv) {
    const { values } = parse(argv, { data: { type: 'string' }, out: { type: 'string' }, minutes: { type: 'string' }, 'max-steps': { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' }, lr: { type: 'string' }, width: { type: 'string' }, layers: { type: 'string' }, resolution: { type: 'string' }, 'min-crop': { type: 'string' }, 'crop-pairs': { type: 'string' }, 'crop-side': { type: 'string' }, kind: { type: 'string' }, 'resnet-layers': { type: 'string' }, 'dense-side': { type: 'string' } }, false);
    const kind = (values.kind as string | undefined) ?? 'vit';
    if (kind !== 'vit' && kind !== 'resnet') throw invalidParameter('--kind', "'vit' or 'resnet'", kind);
    const resnetLayers = values['resnet-layers'] === undefined ? undefined : (values['resnet-layers'] as string).split(',').map(Number);
    if (resnetLayers && (resnetLayers.length !== 4 || !resnetLayers.every((n) => Number.isInteger(n) && n >= 1))) throw invalidParameter('--resnet-layers', 'four whole numbers ≥ 1 (e.g. 1,1,1,1)', values['resnet-layers']);
    const r = await pretrainClip({
      data: required(values, 'data'),
      out: required(values, 'out'),
      minutes: numberOption(values, 'minutes', 7),
      maxSteps: values['max-steps'] === undefined ? undefined : intOption(values, 'max-steps', 0, 1),
      batch: intOption(values, 'batch', 64, 2),
      lr: numberOption(values, 'lr', 2e-3),
      kind,
      ...(resnetLayers ? { resnetLayers } : {}),
      denseSide: intOption(values, 'dense-side', 0, 0),
      width: intOption(values, 'width', kind === 'vit' ? 128 : 32, kind === 'vit' ? 64 : 2),
      layers: intOption(values, 'layers', 4, 1),
      resolution: intOption(values, 'resolution', 48, 16),
      minCrop: numberOption(values, 'min-crop', 0.5),
      cropPairs: numberOption(values, 'crop-pairs', 0),
      cropSide: cropSide(values['crop-side'] as string | undefined),
      seed: intOption(values, 'seed', 0, 0),
      log: (l) => process.stderr.write(l + '\n'),
    });
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  },
};

/** `a,b` with 0 < a ≤ b ≤ 1, or the default. */
function cropSide(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || !parts.every((x) => x > 0 && x <= 1) || parts[0] > parts[1]) {
    throw invalidParameter('--crop-side', 'two fractions a,b with 0 < a ≤ b ≤ 1', v);
  }
  return [parts[0], parts[1]];
}
