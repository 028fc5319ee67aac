import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImage } from '../../image/load';
import { classAreas, writeLabelPng, writeOverlay } from '../../infer/output';
import type { DenseVariant } from '../../clip/clip';
import { Segmenter, type SegmentOptions } from '../../infer/segmenter';
import { writeJsonAtomicSync } from '../../io/atomic';
import { intOption, numberOption, parse, required } from '../args';
import { UsageError, type Command } from '../command';

export const segment: Command = {
  name: ['segment'],
  summary: 'segment images with any class names (indexed PNG, overlay, class areas)',
  usage: `Usage: clips4 segment --clip <weights> [--model <ckpt.safetensors>] --classes "cat,dog,moon" [--background NAME]
                      [--size 448] [--vocab FILE] [--threshold P] --out DIR <images…>
       MaskCLIP mode only: [--variant maskclip|clearclip|sclip|naclip] [--window W --stride S]
                      [--denoise P] [--key-smoothing P]

Without --model, segments with CLIP's own dense features (MaskCLIP). Writes <name>.png (indexed, VOC
palette), <name>.overlay.png and <name>.json (class areas) per image into --out.
  --threshold P      pixels whose best class probability is below P become --background (or 255)
  --variant V        the dense features: MaskCLIP's (default) or a training-free variant (ViT CLIPs)
  --window/--stride  a sliding window over the image at CLIP's input size, in pixels
  --denoise P        MaskCLIP's prompt denoising: drop classes whose best probability in the image is below P
  --key-smoothing P  MaskCLIP's key smoothing where a position's best probability is below P (no window)`,
  async run(argv) {
    const str = { type: 'string' } as const;
    const { values, positionals } = parse(argv, { clip: str, model: str, classes: str, background: str, out: str, size: str, vocab: str, threshold: str, variant: str, window: str, stride: str, denoise: str, 'key-smoothing': str });
    if (positionals.length === 0) throw new UsageError('no input images');
    const classes = required(values, 'classes').split(',').map((s) => s.trim()).filter(Boolean);
    const out = required(values, 'out');
    const given = (name: string) => values[name] !== undefined;
    const seg = await Segmenter.load({
      clip: required(values, 'clip'),
      model: values.model as string | undefined,
      vocab: values.vocab as string | undefined,
      size: intOption(values, 'size', 448, 16),
      ...(given('variant') ? { variant: values.variant as DenseVariant } : {}),
      ...(given('window') ? { window: intOption(values, 'window', 0, 1) } : {}),
      ...(given('stride') ? { stride: intOption(values, 'stride', 0, 1) } : {}),
    });
    const options: SegmentOptions = {
      classes,
      background: values.background as string | undefined,
      ...(given('threshold') ? { threshold: numberOption(values, 'threshold', 0) } : {}),
      ...(given('denoise') ? { denoise: numberOption(values, 'denoise', 0) } : {}),
      ...(given('key-smoothing') ? { keySmoothing: numberOption(values, 'key-smoothing', 0) } : {}),
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
