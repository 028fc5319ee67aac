// `npm run demo`: the main job on built-in data. Set-up (npm packages, LibTorch, the addon, lib/)
// runs first through `predemo`. Then: generate the synthetic world → take the world's CLIP shipped
// in data/world-clip/ (or re-train it with --pretrain) → reproduce the paper's tables in miniature
// through runTraining. Artifacts already present are reused.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');

/** The world's CLIP shipped with the package (weights, tokenizer and the report of its training). */
const SHIPPED_CLIP = path.join(root, 'data', 'world-clip', 'clip.safetensors');

const USAGE = `Usage: npm run demo [-- --out runs/demo] [--seeds N] [--set section.key=value ...] [--parallel N] [--pretrain] [--quick] [--overwrite]

Generates the synthetic world (runs/world); takes the world's CLIP shipped in data/world-clip/
(or, with --pretrain, trains it again into runs/clip/ with the arguments written in its report);
then trains and evaluates MaskCLIP+, CLIP-S4, the loss ablation and CLIP-S4 on the controlled
teacher (and on ClearCLIP where the teacher is a ViT; the shipped one is a ResNet) through
runTraining (configs/world-small.json), writing runs/demo/report.md and
report.json. Finished runs are reused; interrupted ones resume; a run folder holding a run of
another config (other --set values, say) is an error that names what differs.
  --seeds N   N seeds (0..N-1) × both held-out folds, tables as mean ± std, report in runs/demo/seedsN
              (default: 1 seed, fold 0; the models of every run are kept in runs/demo/runs and reused)
  --set k=v   a setting for every run (as scripts/train.ts --set), e.g. --set train.iterations=3000;
              runs of other settings need another --out (or --overwrite)
  --parallel N  models trained side by side, one thread each (default: one per core, here ${os.availableParallelism()})
  --pretrain  re-train the world's CLIP instead of using the shipped one (report in runs/demo-pretrain)
  --quick     a much smaller run (a few minutes) to check the pipeline (report in runs/demo-quick)
  --overwrite start over the runs whose folder holds a run of another config
`;

async function main(): Promise<number> {
  let options: { out?: string; seeds?: string; set?: string[]; parallel?: string; pretrain?: boolean; quick?: boolean; overwrite?: boolean; help?: boolean };
  try {
    options = parseArgs({ options: { out: { type: 'string' }, seeds: { type: 'string' }, set: { type: 'string', multiple: true }, parallel: { type: 'string' }, pretrain: { type: 'boolean' }, quick: { type: 'boolean' }, overwrite: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message} (see npm run demo -- --help)\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const quick = options.quick === true;
  // The CLI's own flag check, so the demo refuses a bad count in the same words as `clips4 world reproduce`.
  const { intOption } = require('../lib/cli/args.js');
  const seedCount: number = intOption(options, 'seeds', 1, 1);
  const parallel: number | undefined = options.parallel === undefined ? undefined : intOption(options, 'parallel', 1, 1);
  const runs = path.resolve(root, 'runs');
  const pretrain = options.pretrain === true;
  // Models of another teacher or size go to their own folder: a run of another config is never reused or lost.
  const demoDir = options.out ? path.resolve(options.out) : path.join(runs, `demo${quick ? '-quick' : ''}${pretrain ? '-pretrain' : ''}`);
  // One folder of trained models for every seed count: a 3-seed run reuses the 1-seed run's models.
  const out = seedCount > 1 ? path.join(demoDir, `seeds${seedCount}`) : demoDir;
  const c = require('../lib/index.js');
  const { generateWorld, pretrainClip, reproduce, headline } = require('../lib/entry/world.js');
  const sets = [...(quick ? ['train.iterations=40', 'data.images=300'] : []), ...(options.set ?? [])];
  // A wrong --set fails here, before the world is generated or a teacher evaluated.
  require('../lib/entry/train.js').resolveConfig(path.join(root, 'configs', 'world-small.json'), sets);
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
  const log = (l: string) => process.stderr.write(`${stamp()} ${l}\n`);
  const doctor = await c.doctor();
  log(`clips4 ${doctor.clips4}, LibTorch ${doctor.torch}, ${doctor.threads} threads, SGEMM ${doctor.sgemmGflops.toFixed(0)} GFLOP/s`);
  for (const w of doctor.warnings) log(`WARNING: ${w}`);

  const worldDir = path.join(runs, quick ? 'world-quick' : 'world');
  log(`1/3 world → ${worldDir}`);
  const w = await generateWorld({ out: worldDir, seed: 0, train: quick ? 600 : 4000, val: quick ? 60 : 500, size: 96, crops: quick ? 5 : 20, onProgress: (d: number, t: number) => d % 1000 < 32 && log(`generating ${d}/${t}`) });
  log(w.reused ? 'world reused' : `world written in ${w.seconds.toFixed(0)} s`);

  const shippedReport = JSON.parse(fs.readFileSync(SHIPPED_CLIP.replace(/\.safetensors$/, '.report.json'), 'utf8'));
  let clipFile = SHIPPED_CLIP;
  if (pretrain) {
    clipFile = path.join(runs, quick ? 'clip-quick' : 'clip', 'clip.safetensors');
    log(`2/3 CLIP pretraining → ${clipFile} (the shipped teacher's arguments: ${JSON.stringify(shippedReport.options)})`);
    if (fs.existsSync(clipFile.replace(/\.safetensors$/, '.report.json'))) log('CLIP reused');
    else await pretrainClip({ ...shippedReport.options, data: worldDir, out: clipFile, log });
  } else log(`2/3 CLIP: the shipped teacher ${path.relative(root, SHIPPED_CLIP)}`);
  const cr = JSON.parse(fs.readFileSync(clipFile.replace(/\.safetensors$/, '.report.json'), 'utf8'));
  log(`CLIP: zero-shot top-1 ${(cr.zeroShotTop1 * 100).toFixed(1)}%, MaskCLIP val mIoU ${(cr.maskclipMiou * 100).toFixed(1)}% (${cr.steps} steps)`);

  log(`3/3 reproduce → ${out}`);
  const seeds = Array.from({ length: seedCount }, (_, i) => i);
  const report = await reproduce({
    data: worldDir,
    clip: clipFile,
    out,
    runs: path.join(demoDir, 'runs'),
    seeds,
    folds: seedCount > 1 ? [0, 1] : [0],
    // One seed keeps to its 20-minute budget: CLIP-S4 on the teacher's best variant is one more model,
    // and that variant's teacher features (windows over every training and val image) another pass.
    bestVariant: seedCount > 1,
    valImages: quick ? 40 : 200,
    knnTrainImages: quick ? 60 : 300,
    sets,
    ...(parallel === undefined ? {} : { parallel }),
    overwrite: options.overwrite === true,
    log,
  });
  process.stdout.write(`\n${headline(report)}\n\n${report.claims.map((c: { holds: boolean; claim: string }) => `${c.holds ? 'holds' : 'DOES NOT HOLD'}: ${c.claim}`).join('\n')}\n\nReport: ${path.join(out, 'report.md')} (numbers in report.json, figures beside it); ${((Date.now() - started) / 60000).toFixed(1)} min in all.\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    process.stderr.write(`demo: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
    process.exitCode = 1;
  },
);
