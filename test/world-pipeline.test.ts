// The demo's pipeline at a tiny size: generate → pretrain a CLIP → reproduce, all files written
// and every table filled from the runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { main } from '../src/cli/main';
import { generateWorld } from '../src/world';
import { pretrainClip } from '../src/world/pretrain-clip';
import { bestVariant, reproduce, runSpecs, type ReproduceOptions } from '../src/world/reproduce';
import { resolveConfig } from '../src/train/config';
import { UNKNOWN_FOLDS } from '../src/world/classes';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

test('tiny world → CLIP → reproduction', async (t) => {
  const dir = tmpDir('clips4-pipeline-');
  const world = path.join(dir, 'world');
  await generateWorld({ out: world, seed: 1, train: 48, val: 8, size: 48, crops: 1 });
  const clipFile = path.join(dir, 'clip', 'clip.safetensors');
  const pre = await pretrainClip({ data: world, out: clipFile, maxSteps: 3, batch: 8, minutes: 5, evalImages: 4, width: 64, layers: 1, textWidth: 64 });
  t.is(pre.steps, 3);
  t.true(Number.isFinite(pre.finalLoss));
  t.true(pre.zeroShotTop1 >= 0 && pre.zeroShotTop1 <= 1);
  t.true(fs.existsSync(clipFile.replace('.safetensors', '.tokenizer.json')));
  const clip = await Clip.load(clipFile);
  t.is(clip.tokenizer.kind, 'word');
  t.is(clip.info.kind, 'vit');
  const out = path.join(dir, 'demo');
  const sets = ['train.iterations=2', 'data.images=16', 'clip.side=0', 'checkpoint.every=1'];
  const lines: string[] = [];
  const o = { data: world, clip: clipFile, out, valImages: 4, knnTrainImages: 8, corruptions: [0.4], sets, log: (l: string) => lines.push(l) };
  const r = await reproduce(o);
  // Every model of the tables went through runTraining with its config from configs/ (plus the
  // seed, fold and --set overrides), and every teacher was scored.
  const specs = runSpecs('all', [0.4], 0.1, bestVariant('vit', 0, 16));
  t.deepEqual([...new Set(r.results.map((x) => x.name))].sort(), [...specs.map((s) => s.name), 'maskclip', 'clearclip', 'oracle-0.4-teacher'].sort());
  for (const s of specs) {
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'runs', 'seed0-fold0', s.name, 'config.json'), 'utf8'));
    const want = resolveConfig(path.join(repoRoot, 'configs', s.config), [`data.root=${world}`, `data.cache=${path.join(out, 'runs', 'cache')}`, `clip.weights=${clipFile}`, 'train.seed=0', `prototypes.heldOut=${JSON.stringify(UNKNOWN_FOLDS[0])}`, ...s.sets, ...sets]).config;
    t.deepEqual(saved, JSON.parse(JSON.stringify(want)), `${s.name}: trained with its config`);
    t.true(fs.existsSync(path.join(out, 'runs', 'seed0-fold0', s.name, 'model.safetensors')), s.name);
  }
  for (const x of r.results) for (const m of ['known', 'unknown', 'hiou', 'miou'] as const) t.true(x[m] >= 0 && x[m] <= 1, `${x.name} ${m} ${x[m]}`);
  t.is(r.clip.zeroShotTop1, pre.zeroShotTop1);
  for (const f of ['report.md', 'report.json', 'overlays.png', 'projection.png', 'per-class-iou.png']) t.true(fs.existsSync(path.join(out, f)), f);
  // A second run reuses every finished model and gives the same numbers.
  lines.length = 0;
  const again = await reproduce(o);
  t.is(lines.filter((l) => l.endsWith(': reused')).length, specs.length, lines.join('\n'));
  t.deepEqual(again.results, r.results);
  // The command line, reporting elsewhere from the same trained models (--runs): nothing trains again.
  const argv = ['world', 'reproduce', '--data', world, '--clip', clipFile, '--out', path.join(dir, 'rescored'), '--runs', path.join(out, 'runs'), '--val-images', '4', '--knn-train-images', '8', '--teacher-corruption', '0.4', ...sets.flatMap((x) => ['--set', x])];
  t.is(await main(argv), 0);
  t.deepEqual((JSON.parse(fs.readFileSync(path.join(dir, 'rescored', 'report.json'), 'utf8')) as typeof r).results, r.results);
  t.false(fs.existsSync(path.join(dir, 'rescored', 'runs')));
  // The same dataset and teacher spelled as relative paths are the same config: every run reused.
  lines.length = 0;
  const relative = await reproduce({ ...o, data: path.relative(process.cwd(), world), clip: path.relative(process.cwd(), clipFile), out: path.relative(process.cwd(), out) });
  t.is(lines.filter((l) => l.endsWith(': reused')).length, specs.length, lines.join('\n'));
  t.deepEqual(relative.results, r.results);
  // Another config in the same folders is refused before anything trains, naming what differs: no
  // finished model is lost to a changed setting.
  const model = path.join(out, 'runs', 'seed0-fold0', 'clips4', 'model.safetensors');
  const before = fs.readFileSync(model);
  const three = { ...o, sets: [...sets.filter((x) => !x.startsWith('train.iterations')), 'train.iterations=3'] };
  lines.length = 0;
  await t.throwsAsync(reproduce(three), { code: 'ERR_CLIPS4_STATE', message: new RegExp(`${specs.length} run folders hold runs of another config, first .*seed0-fold0.*train\\.iterations: 2 there, 3 here.*--overwrite`) });
  t.deepEqual(fs.readFileSync(model), before);
  t.deepEqual(lines, [], 'refused before any teacher is evaluated or model trained');
  // With overwrite it starts each run over: no metrics or checkpoints of the old one.
  await reproduce({ ...three, overwrite: true });
  const metrics = fs.readFileSync(path.join(out, 'runs', 'seed0-fold0', 'clips4', 'metrics.jsonl'), 'utf8').trim().split('\n');
  t.deepEqual(metrics.map((l) => JSON.parse(l).iteration), [1, 2, 3]);
  // Seeds × folds: every (seed, fold) trains its own model; the report gives mean ± std and checks the
  // controlled-teacher claims in each.
  const multi = await reproduce({ ...o, out: path.join(dir, 'multi'), experiments: 'oracle', seeds: [0, 1], folds: [0, 1] });
  const runs = multi.results.filter((x) => x.name === 'oracle-0.4');
  t.deepEqual(runs.map((x) => `${x.seed}/${x.fold}`).sort(), ['0/0', '0/1', '1/0', '1/1']);
  t.deepEqual(multi.folds, UNKNOWN_FOLDS.map((f) => [...f]));
  for (const c of multi.claims) t.is(c.evidence.split('; ').length, 4, c.evidence);
  const md = fs.readFileSync(path.join(dir, 'multi', 'report.md'), 'utf8');
  t.regex(md, /\| 0\.4 \| \d+\.\d ± \d+\.\d \|/);
  t.true(fs.existsSync(path.join(dir, 'multi', 'runs', 'seed1-fold1', 'oracle-0.4', 'model.safetensors')));
  // One run at a time or three side by side (the default is one per core) train the same models, file
  // for file, and score them the same: each run trains on one thread however many run beside it.
  for (const parallel of [1, 3]) {
    const other = await reproduce({ ...o, out: path.join(dir, `parallel-${parallel}`), experiments: 'oracle', seeds: [0, 1], folds: [0, 1], parallel });
    for (const run of ['seed0-fold0', 'seed0-fold1', 'seed1-fold0', 'seed1-fold1']) {
      const file = (report: string) => fs.readFileSync(path.join(dir, report, 'runs', run, 'oracle-0.4', 'model.safetensors'));
      t.deepEqual(file(`parallel-${parallel}`), file('multi'), `${run}, ${parallel} at a time`);
    }
    t.deepEqual(other.results, multi.results);
  }
  // A count that is no whole number ≥ 1 is refused before anything is written or trained.
  await t.throwsAsync(reproduce({ ...o, out: path.join(dir, 'none-side-by-side'), parallel: 0 }), { message: /options\.parallel/ });
  await t.throwsAsync(reproduce({ ...o, out: path.join(dir, 'none-side-by-side'), parallel: 1.5 }), { message: /an integer for options\.parallel/ });
  t.is(await main(['world', 'reproduce', '--data', world, '--clip', clipFile, '--out', path.join(dir, 'none-side-by-side'), '--parallel', 'two']), 2);
  t.false(fs.existsSync(path.join(dir, 'none-side-by-side')));
  // A repeated seed, fold or corruption would train one run twice at once into one folder; a fold the
  // world lacks, a seed or an image count that is no whole number, a corruption outside [0, 1] and a
  // negative noise are refused too, all before anything is written.
  const refused = path.join(dir, 'refused');
  const bad: [Partial<ReproduceOptions>, RegExp][] = [
    [{ seeds: [1, 1] }, /Expected distinct values for options\.seeds but received 1 more than once \(1, 1\)/],
    [{ folds: [0, 1, 0] }, /Expected distinct values for options\.folds but received 0 more than once/],
    [{ corruptions: [0.4, 0.4] }, /distinct values for options\.corruptions/],
    [{ seeds: [] }, /Expected a non-empty array for options\.seeds/],
    [{ seeds: [0, -1] }, /Expected an integer >= 0 for options\.seeds\[1\] but received number -1/],
    [{ seeds: [0.5] }, /Expected an integer for options\.seeds\[0\]/],
    [{ folds: [0, UNKNOWN_FOLDS.length] }, new RegExp(`Expected one of this world's ${UNKNOWN_FOLDS.length} unknown folds \\(0 to ${UNKNOWN_FOLDS.length - 1}\\) for options\\.folds\\[1\\] but received number ${UNKNOWN_FOLDS.length}`)],
    [{ corruptions: [1.5] }, /options\.corruptions\[0\]/],
    [{ noise: -0.1 }, /options\.noise/],
    [{ valImages: 0 }, /options\.valImages/],
    [{ experiments: 'some' as 'all' }, /options\.experiments/],
    [{ bestVariant: 'no' as unknown as boolean }, /Expected a boolean for options\.bestVariant but received 'no'/],
  ];
  for (const [change, message] of bad) await t.throwsAsync(reproduce({ ...o, ...change, out: refused }), { code: 'ERR_CLIPS4_INVALID_ARG', message }, JSON.stringify(change));
  const cli: [string[], RegExp][] = [
    [['--seeds', '0,0'], /Expected distinct values for --seeds but received 0 more than once \(0, 0\)/],
    [['--seeds', '1,'], /Expected a comma-separated list of integers ≥ 0 \(e\.g\. 0,1,2\) for --seeds but received '1,'/],
    [['--seeds', ''], /for --seeds but received ''/],
    [['--folds', '0,0'], /Expected distinct values for --folds/],
    [['--teacher-corruption', '0.2,0.2'], /Expected distinct values for --teacher-corruption but received 0\.2 more than once/],
  ];
  for (const [args, message] of cli) {
    const { code, err } = await mainWithStderr(['world', 'reproduce', '--data', world, '--clip', clipFile, '--out', refused, ...args]);
    t.is(code, 1, args.join(' '));
    t.regex(err, message);
  }
  t.false(fs.existsSync(refused));
  // A run that fails stops the others (two train side by side; none waits for it for ever).
  await t.throwsAsync(reproduce({ ...o, out: path.join(dir, 'failing'), sets: [...sets, `data.regionDir=${path.join(dir, 'no-such-folder')}`] }), { message: /no-such-folder/ });
});

/** The CLI's exit code for `args` and what it wrote to stderr meanwhile. */
async function mainWithStderr(args: string[]): Promise<{ code: number; err: string }> {
  const write = process.stderr.write;
  let err = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), err };
  } finally {
    process.stderr.write = write;
  }
}
