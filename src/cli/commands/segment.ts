import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImage } from '../../image/load';
import { classAreas, writeLabelPng, writeOverlay } from '../../infer/output';
import type { SegmentOptions } from '../../infer/segmenter';
import { writeJsonAtomicSync } from '../../io/atomic';
import { numberOption, parse, required } from '../args';
import { UsageError, type Command } from '../command';
import { featureOptions, featureUsage, loadSegmenter, refinements, refineOptions, refineUsage } from './eval-common';

export const segment: Command = {
  name: ['segment'],
  summary: 'segment images with any class names (indexed PNG, overlay, class areas)',
  usage: `Usage: clips4 segment --clip <weights> [--model <ckpt.safetensors>] --classes "cat,dog,moon" [--background NAME]
                      [--threshold P] [--size 448] [--vocab FILE] [MaskCLIP options] --out DIR <images…>

Without --model, segments with CLIP's own dense features (MaskCLIP). Writes <name>.png (indexed, VOC
palette), <name>.overlay.png and <name>.json (class areas) per image into --out.
  --threshold P     pixels whose best class probability is below P become --background (or 255)
${featureUsage}
${refineUsage}`,
  async run(argv) {
    const str = { type: 'string' } as const;
    const { values, positionals } = parse(argv, { clip: str, model: str, classes: str, background: str, out: str, size: str, vocab: str, threshold: str, ...featureOptions, ...refineOptions });
    if (positionals.length === 0) throw new UsageError('no input images');
    const classes = required(values, 'classes').split(',').map((s) => s.trim()).filter(Boolean);
    const out = required(values, 'out');
    const seg = await loadSegmenter(values);
    const options: SegmentOptions = {
      classes,
      background: values.background as string | undefined,
      threshold: numberOption(values, 'threshold', 0),
      ...refinements(values),
    };
    for (const file of positionals) {
      const [image, s] = await Promise.all([loadImage(file), seg.segment(file, options)]);
      // Created once the first image is segmented: options the Segmenter refuses leave no folder behind.
      fs.mkdirSync(out, { recursive: true });
      const base = path.join(out, path.basename(file).replace(/\.[^.]+$/, ''));
      await writeLabelPng(`${base}.png`, s);
      await writeOverlay(`${base}.overlay.png`, image, s);
      writeJsonAtomicSync(`${base}.json`, { image: file, width: s.width, height: s.height, classes: s.classes, areas: classAreas(s) });
      process.stdout.write(`${file}: ${Object.entries(classAreas(s)).filter(([, a]) => a > 0).map(([c, a]) => `${c} ${(a * 100).toFixed(1)}%`).join(', ')}\n`);
    }
    return 0;
  },
};
