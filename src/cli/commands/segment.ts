import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImage } from '../../image/load';
import { classAreas, writeLabelPng, writeOverlay } from '../../infer/output';
import { Segmenter } from '../../infer/segmenter';
import { writeJsonAtomicSync } from '../../io/atomic';
import { intOption, parse, required } from '../args';
import { UsageError, type Command } from '../command';

export const segment: Command = {
  name: ['segment'],
  summary: 'segment images with any class names (indexed PNG, overlay, class areas)',
  usage: `Usage: clips4 segment --clip <weights> [--model <ckpt.safetensors>] --classes "cat,dog,moon" [--background NAME]
                      [--size 448] [--vocab FILE] --out DIR <images…>

Without --model, segments with CLIP's own dense features (MaskCLIP). Writes <name>.png (indexed, VOC
palette), <name>.overlay.png and <name>.json (class areas) per image into --out.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { clip: { type: 'string' }, model: { type: 'string' }, classes: { type: 'string' }, background: { type: 'string' }, out: { type: 'string' }, size: { type: 'string' }, vocab: { type: 'string' } });
    if (positionals.length === 0) throw new UsageError('no input images');
    const classes = required(values, 'classes').split(',').map((s) => s.trim()).filter(Boolean);
    const out = required(values, 'out');
    fs.mkdirSync(out, { recursive: true });
    const seg = await Segmenter.load({ clip: required(values, 'clip'), model: values.model as string | undefined, vocab: values.vocab as string | undefined, size: intOption(values, 'size', 448, 16) });
    for (const file of positionals) {
      const [image, s] = await Promise.all([loadImage(file), seg.segment(file, { classes, background: values.background as string | undefined })]);
      const base = path.join(out, path.basename(file).replace(/\.[^.]+$/, ''));
      await writeLabelPng(`${base}.png`, s);
      await writeOverlay(`${base}.overlay.png`, image, s);
      writeJsonAtomicSync(`${base}.json`, { image: file, width: s.width, height: s.height, classes: s.classes, areas: classAreas(s) });
      process.stdout.write(`${file}: ${Object.entries(classAreas(s)).filter(([, a]) => a > 0).map(([c, a]) => `${c} ${(a * 100).toFixed(1)}%`).join(', ')}\n`);
    }
    return 0;
  },
};
