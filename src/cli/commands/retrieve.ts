import * as path from 'node:path';
import { folderDataset } from '../../data/datasets';
import { retrieveSegments } from '../../eval/retrieve';
import { loadImage, type RawImage } from '../../image/load';
import { writeJsonAtomicSync } from '../../io/atomic';
import { writeContactSheet } from '../../plot/contact-sheet';
import { intOption, parse, required } from '../args';
import { UsageError, type Command } from '../command';
import { featureOptions, featureUsage, loadSegmenter, outDir } from './eval-common';

export const retrieve: Command = {
  name: ['retrieve'],
  summary: 'top image segments per class name across a folder, as a contact sheet (Fig. 4b)',
  usage: `Usage: clips4 retrieve --clip FILE [--model FILE] --classes "a,b" [--top 8] [--grid 6] [--size 448]
                       [--vocab FILE] [--variant V] [--window W --stride S] --out DIR <folder>

Cuts every image of <folder> (recursively) into grid×grid k-means segments of its embeddings, scores
each segment's mean embedding against each class's text embedding (cosine), and keeps the --top best
per class. Writes retrieval.png (rows = classes, cells = crops with the segment outlined) and
retrieval.json (image, box [x0,y0,x1,y1) in pixels, score per hit).
${featureUsage}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { clip: { type: 'string' }, model: { type: 'string' }, classes: { type: 'string' }, top: { type: 'string' }, grid: { type: 'string' }, size: { type: 'string' }, vocab: { type: 'string' }, out: { type: 'string' }, ...featureOptions });
    if (positionals.length !== 1) throw new UsageError(`expected one image folder, got ${positionals.length}`);
    const classes = required(values, 'classes').split(',').map((s) => s.trim()).filter(Boolean);
    if (classes.length === 0) throw new UsageError('--classes names no class');
    const top = intOption(values, 'top', 8, 1);
    const g = intOption(values, 'grid', 6, 1);
    const files = folderDataset(positionals[0]).items.map((it) => it.image);
    const out = outDir(values);
    const seg = await loadSegmenter(values, { oneAtATime: true });
    const text = await seg.text.textClassifier(classes);
    const cache = new Map<string, Promise<RawImage>>();
    const load = (f: string) => {
      if (!cache.has(f)) cache.set(f, loadImage(f));
      return cache.get(f)!;
    };
    const hits = await retrieveSegments({ embed: (f) => seg.embed(f), load: (f) => loadImage(f) }, files, text, { top, grid: [g, g], log: (l) => process.stderr.write(`retrieve: ${l}\n`) });
    const rows = [];
    for (const [c, list] of hits.entries()) rows.push({ label: classes[c], cells: await Promise.all(list.map(async (h) => ({ image: await load(h.image), box: h.box, mask: h.mask, caption: `${path.basename(h.image)} ${h.score.toFixed(3)}` }))) });
    await writeContactSheet(path.join(out, 'retrieval.png'), rows, { title: `top ${top} segments per class (cosine to the class text embedding)` });
    writeJsonAtomicSync(path.join(out, 'retrieval.json'), { folder: positionals[0], images: files.length, segmentsPerImage: g * g, classes: Object.fromEntries(classes.map((c, i) => [c, hits[i].map((h) => ({ image: h.image, box: h.box, score: h.score }))])) });
    for (const [c, list] of hits.entries()) process.stdout.write(`${classes[c]}: ${list.map((h) => `${path.basename(h.image)} ${h.score.toFixed(3)}`).join(', ')}\n`);
    return 0;
  },
};
