import * as os from 'node:os';
import { headline } from '../../world/report';
import { reproduce } from '../../world/reproduce';
import { invalidParameter } from '../../errors';
import { distinctArray } from '../../validate';
import { intOption, numberOption, parse, required } from '../args';
import type { Command } from '../command';

export const worldReproduce: Command = {
  name: ['world', 'reproduce'],
  summary: "the paper's tables in miniature on a generated world",
  usage: `Usage: clips4 world reproduce --data DIR --clip clip.safetensors --out DIR [--seeds 0] [--folds 0]
       [--teacher clip|oracle] [--teacher-corruption 0.2,0.4] [--teacher-noise 0.1] [--set section.key=value ...]
       [--val-images 200] [--knn-train-images 300] [--runs DIR] [--parallel N] [--no-best-variant] [--overwrite]

For every seed and held-out fold, trains through runTraining (configs/world-small.json and the
ablation configs, with --set applied to all): MaskCLIP+, CLIP-S4, the loss ablation, CLIP-S4 on
the teacher's best training-free variant (a ViT: ClearCLIP; a ResNet CLIP, which has no last
attention block to change: MaskCLIP over overlapping windows), and CLIP-S4 on the
controlled teacher at each --teacher-corruption; evaluates them and
the teachers with the Segmenter; writes report.md, report.json and figures to --out. Finished runs
are reused and interrupted ones resumed. A run folder that holds a run of another config is an
error naming the settings that differ: pass another --out to keep it, or
--overwrite   start such runs over (their models, checkpoints and metrics are deleted).
--no-best-variant  leave out CLIP-S4 on the best variant and that teacher (one model fewer per seed and fold)
--parallel N  models trained side by side, one thread each (default: one per core, here ${os.availableParallelism()})
--runs DIR    where the trained models are kept (default: --out/runs); reports of other seeds or
              evaluation settings can share them (the demo's: runs/demo/runs).
--teacher oracle   only the controlled-teacher experiment: CLIP's dense features replaced by a
                   degraded oracle (the text embedding of each cell's true class; a fraction p of
                   cells in blobs of another class; Gaussian noise σ; renormalised). The report gives
                   the oracle's own known/unknown/hIoU and k-NN beside CLIP-S4's.`,
  async run(argv) {
    const { values } = parse(argv, { data: { type: 'string' }, clip: { type: 'string' }, out: { type: 'string' }, seeds: { type: 'string' }, folds: { type: 'string' }, teacher: { type: 'string' }, 'teacher-corruption': { type: 'string' }, 'teacher-noise': { type: 'string' }, set: { type: 'string', multiple: true }, 'val-images': { type: 'string' }, 'knn-train-images': { type: 'string' }, overwrite: { type: 'boolean' }, 'no-best-variant': { type: 'boolean' }, runs: { type: 'string' }, parallel: { type: 'string' } }, false);
    const teacher = (values.teacher as string | undefined) ?? 'clip';
    if (teacher !== 'clip' && teacher !== 'oracle') throw invalidParameter('--teacher', "'clip' or 'oracle'", teacher);
    const r = await reproduce({
      data: required(values, 'data'),
      clip: required(values, 'clip'),
      out: required(values, 'out'),
      ...(values.runs === undefined ? {} : { runs: values.runs as string }),
      seeds: list('--seeds', values.seeds as string | undefined, [0], true),
      folds: list('--folds', values.folds as string | undefined, [0], true),
      experiments: teacher === 'oracle' ? 'oracle' : 'all',
      corruptions: list('--teacher-corruption', values['teacher-corruption'] as string | undefined, [0.2, 0.4], false),
      noise: numberOption(values, 'teacher-noise', 0.1),
      sets: (values.set as string[] | undefined) ?? [],
      valImages: intOption(values, 'val-images', 200, 1),
      knnTrainImages: intOption(values, 'knn-train-images', 300, 1),
      ...(values.parallel === undefined ? {} : { parallel: intOption(values, 'parallel', 1, 1) }),
      bestVariant: values['no-best-variant'] !== true,
      overwrite: values.overwrite === true,
      log: (l) => process.stderr.write(l + '\n'),
    });
    process.stdout.write(headline(r) + '\n');
    return 0;
  },
};

/** A comma-separated list of distinct integers ≥ 0 (ints) or of distinct fractions in [0, 1]. */
function list(name: string, v: string | undefined, fallback: number[], ints: boolean): number[] {
  if (v === undefined) return fallback;
  // An empty entry ('1,' or '') is no number: Number('') would read it as 0.
  const xs = v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (xs.some((x) => !Number.isFinite(x) || x < 0 || (ints ? !Number.isInteger(x) : x > 1))) {
    throw invalidParameter(name, ints ? 'a comma-separated list of integers ≥ 0 (e.g. 0,1,2)' : 'a comma-separated list of fractions in [0, 1] (e.g. 0.2,0.4)', v);
  }
  return distinctArray(name, xs, (_, x) => x as number);
}
