import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clip } from '../../clip/clip';
import { davisSequences } from '../../data/datasets';
import { colourFeatures, denseFrameEncoder, runDavis, type FrameEncoder } from '../../eval/davis-run';
import { loadImage } from '../../image/load';
import { CLIP_MEAN, CLIP_STD } from '../../image/normalize';
import { writeFileAtomic } from '../../io/atomic';
import { encodeIndexedPng } from '../../io/png';
import { PixelEmbedder } from '../../net/embedder';
import { writePerClassIou } from '../../plot/bars';
import { writeLabelGrid } from '../../plot/overlays';
import { intOption, numberOption, parse, required } from '../args';
import { UsageError, type Command } from '../command';
import { outDir, pct, table, writeReport } from './eval-common';

async function frameEncoder(values: Record<string, unknown>): Promise<{ encoder: FrameEncoder; features: string }> {
  const sources = ['features', 'model', 'clip'].filter((k) => values[k] !== undefined);
  if (sources.length !== 1) throw new UsageError(`give exactly one feature source: --features rgb, --model FILE or --clip FILE (got ${sources.length ? sources.map((s) => `--${s}`).join(' and ') : 'none'})`);
  const size = intOption(values, 'size', 480, 16);
  const norm = { mean: CLIP_MEAN, std: CLIP_STD };
  if (values.features !== undefined) {
    if (values.features !== 'rgb') throw new UsageError(`--features expects rgb, got '${String(values.features)}'`);
    const cell = intOption(values, 'cell', 8, 1);
    return { encoder: (f) => colourFeatures(f, cell), features: `raw colour (mean RGB of ${cell}×${cell} blocks)` };
  }
  if (values.model !== undefined) {
    const file = required(values, 'model');
    const net = await PixelEmbedder.load(file);
    return { encoder: denseFrameEncoder((x) => net.embed(x), { size, multipleOf: 8, norm }), features: `CLIP-S4 embedder ${file} at shorter side ${size}` };
  }
  const file = required(values, 'clip');
  const clip = await Clip.load(file, values.vocab ? { vocab: values.vocab as string } : {});
  return { encoder: denseFrameEncoder((x) => clip.denseFeatures(x), { size, multipleOf: clip.stride, norm }), features: `CLIP dense features of ${file} at shorter side ${size}` };
}

export const evalDavis: Command = {
  name: ['eval', 'davis'],
  summary: 'DAVIS-2017 label propagation J&F (CRW protocol; Table 5) against the first-mask copy',
  usage: `Usage: clips4 eval davis --root DIR (--features rgb | --model FILE | --clip FILE) [--split val]
                         [--frames N] [--size 480] [--context 20] [--topk 10] [--radius 12]
                         [--temperature 0.05] --out DIR

Propagates each sequence's first-frame mask with L2-normalised features (context: the first frame and
the previous --context frames; softmax over the top-k affinities within --radius feature cells),
writes the masks to DIR/pred/<sequence>/<frame>.png (score them again with clips4 score-davis), and
reports region J, boundary F and J&F next to the trivial baseline of copying the first mask.

  --root DIR        DAVIS-2017 (JPEGImages/480p, Annotations/480p, ImageSets/2017)
  --features rgb    raw colour features (--cell N pixels per feature cell, default 8)
  --model FILE      a trained CLIP-S4 embedder;  --clip FILE  CLIP's dense features (--vocab FILE)
  --frames N        only the first N frames of each sequence`,
  async run(argv) {
    const { values } = parse(argv, { root: { type: 'string' }, split: { type: 'string' }, features: { type: 'string' }, model: { type: 'string' }, clip: { type: 'string' }, vocab: { type: 'string' }, size: { type: 'string' }, cell: { type: 'string' }, frames: { type: 'string' }, context: { type: 'string' }, topk: { type: 'string' }, radius: { type: 'string' }, temperature: { type: 'string' }, out: { type: 'string' } }, false);
    const root = required(values, 'root');
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UsageError(`--root ${root} is not a folder`);
    const seqs = davisSequences(root, (values.split as string | undefined) ?? 'val');
    const prop = { context: intOption(values, 'context', 20, 0), topk: intOption(values, 'topk', 10, 1), radius: intOption(values, 'radius', 12, 0), temperature: numberOption(values, 'temperature', 0.05) };
    if (!(prop.temperature > 0)) throw new UsageError(`--temperature expects a positive number, got ${prop.temperature}`);
    const frames = values.frames === undefined ? undefined : intOption(values, 'frames', 2, 2);
    const { encoder, features } = await frameEncoder(values);
    const out = outDir(values);
    const r = await runDavis(seqs, encoder, { ...prop, frames, log: (l) => process.stderr.write(`eval davis: ${l}\n`) });
    for (const p of r.predictions) {
      for (let t = 0; t < p.masks.length; t++) await writeFileAtomic(path.join(out, 'pred', p.name, path.basename(p.frames[t])), encodeIndexedPng(p.masks[t], p.width, p.height));
    }
    const names = r.predictions.map((p) => p.name);
    await writePerClassIou(
      path.join(out, 'jf.png'),
      names.flatMap((n) => [n, `${n} (copy)`]),
      names.flatMap((n) => [(r.scores.perSequence[n].J + r.scores.perSequence[n].F) / 2, (r.baseline.perSequence[n].J + r.baseline.perSequence[n].F) / 2]),
      { title: 'J&F (%) per sequence', marked: names.map((n) => `${n} (copy)`), legend: ['propagation', 'first-mask copy'] },
    );
    const first = r.predictions[0];
    const picks = [...new Set([1, Math.floor(first.masks.length / 2), first.masks.length - 1])].filter((t) => t > 0 && t < first.masks.length);
    const seq = seqs.find((s) => s.name === first.name)!;
    const objects = Array.from({ length: 256 }, (_, i) => (i === 0 ? 'background' : `object ${i}`));
    await writeLabelGrid(path.join(out, 'overlays.png'), await Promise.all(picks.map(async (t) => ({ image: await loadImage(seq.frames[t]), maps: [first.gt[t], first.masks[t]] }))), { columns: ['frame', 'ground truth', 'propagated'], names: objects });
    const json = { task: 'davis', root, features, propagation: prop, frames: frames ?? 'all', propagated: r.scores, firstMaskCopy: r.baseline };
    const md = [
      `# DAVIS-2017 label propagation (${seqs.length} sequences${frames ? `, first ${frames} frames each` : ''})`,
      '',
      `Features: ${features}. Context: first frame + previous ${prop.context} frames, top-${prop.topk} affinities at temperature ${prop.temperature} within ${prop.radius} feature cells. J and F per object over the frames after the first, averaged over objects, then sequences.`,
      '',
      '## Table 5 (%)',
      table(['method', 'J&F', 'J', 'F'], [
        ['propagation', pct(r.scores.JF), pct(r.scores.J), pct(r.scores.F)],
        ['first-mask copy (baseline)', pct(r.baseline.JF), pct(r.baseline.J), pct(r.baseline.F)],
      ]),
      '',
      '## Per sequence (%)',
      table(['sequence', 'J', 'F', 'copy J', 'copy F'], names.map((n) => [n, pct(r.scores.perSequence[n].J), pct(r.scores.perSequence[n].F), pct(r.baseline.perSequence[n].J), pct(r.baseline.perSequence[n].F)])),
      '',
      '## Files',
      '- `pred/<sequence>/<frame>.png`: propagated masks (object ids, indexed PNG)',
      '- `jf.png`: J&F per sequence, propagation and first-mask copy',
      `- \`overlays.png\`: frames of ${first.name} with ground truth and propagated masks`,
    ].join('\n');
    writeReport(out, json, md);
    process.stdout.write(`J&F ${pct(r.scores.JF)} (J ${pct(r.scores.J)}, F ${pct(r.scores.F)}); first-mask copy J&F ${pct(r.baseline.JF)}\n`);
    return 0;
  },
};
