import * as path from 'node:path';
import { exportRun } from '../../train/export';
import { parse } from '../args';
import type { Command } from '../command';
import { UsageError } from '../command';

export const exportModel: Command = {
  name: ['export'],
  summary: 'write a training run\'s embedding network for inference (safetensors + JSON)',
  usage: `Usage: clips4 export <run-dir> [--out FILE.safetensors] [--checkpoint ckpt-NNNNNNN]

Reads the newest complete checkpoint of a run made by scripts/train.ts (or the one named) and writes
the pixel embedder as FILE.safetensors with FILE.json beside it (default <run-dir>/export/model),
ready for \`clips4 segment --model FILE.safetensors\` and Segmenter.load({model}).`,
  async run(argv) {
    const { values, positionals } = parse(argv, { out: { type: 'string' }, checkpoint: { type: 'string' } }, true);
    if (positionals.length !== 1) throw new UsageError(`Expected one run directory but received ${positionals.length}`);
    const run = positionals[0];
    const out = (values.out as string | undefined) ?? path.join(run, 'export', 'model.safetensors');
    const r = await exportRun(run, out, { checkpoint: values.checkpoint as string | undefined });
    process.stdout.write(`exported iteration ${r.iteration} of ${r.checkpoint} to ${r.file}\n`);
    return 0;
  },
};
