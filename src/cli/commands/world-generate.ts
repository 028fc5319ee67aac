import { generateWorld } from '../../world';
import { intOption, parse, required } from '../args';
import type { Command } from '../command';

export const worldGenerate: Command = {
  name: ['world', 'generate'],
  summary: 'write a synthetic VOC-layout world (images, labels, captions)',
  usage: `Usage: clips4 world generate --out DIR [--seed S] [--train N] [--val N] [--size PX] [--crops N] [--force]

Writes JPEGImages/, SegmentationClass/ (indexed PNG, label = 1 + class index), ImageSets/Segmentation/
{train,val}.txt, classes.json, captions.jsonl and crops/ (single-class images for zero-shot tests).
Deterministic per seed; an existing world made with the same arguments is reused.
  --seed 0  --train 4000  --val 500  --size 96  --crops 20`,
  async run(argv) {
    const { values } = parse(argv, {
      out: { type: 'string' },
      seed: { type: 'string' },
      train: { type: 'string' },
      val: { type: 'string' },
      size: { type: 'string' },
      crops: { type: 'string' },
      force: { type: 'boolean' },
    }, false);
    const tty = process.stderr.isTTY;
    const r = await generateWorld({
      out: required(values, 'out'),
      seed: intOption(values, 'seed', 0, 0),
      train: intOption(values, 'train', 4000, 1),
      val: intOption(values, 'val', 500, 1),
      size: intOption(values, 'size', 96, 32),
      crops: intOption(values, 'crops', 20, 0),
      force: values.force === true,
      onProgress: (d, t) => {
        if (tty) process.stderr.write(`\rgenerating ${d}/${t}`);
        else if (d === t || d % 1000 < 32) process.stderr.write(`generating ${d}/${t}\n`);
      },
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(`${r.reused ? 'reused' : 'wrote'} ${r.images} images (${r.classes.length} classes) in ${r.dir}${r.reused ? '' : ` in ${r.seconds.toFixed(1)} s`}\n`);
    return 0;
  },
};
