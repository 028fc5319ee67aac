// The training job: config errors name the key and the file; a run killed with SIGKILL and resumed
// ends with the same parameters as an uninterrupted run; a crash while a checkpoint is being written
// leaves the previous one loadable.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { WordTokenizer } from '../src/clip/tokenizer';
import * as safetensors from '../src/safetensors';
import { resolveConfig } from '../src/train/config';
import { loadLatest } from '../src/train/checkpoint';
import { generateWorld, WORLD_CLASSES } from '../src/world';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const dir = tmpDir('clips4-train-');

test('config errors name the key and the file; bases compose; --set overrides', (t) => {
  const base = path.join(dir, 'base.json');
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(base, JSON.stringify({ train: { batch: 4 }, clip: { weights: 'w.safetensors' } }));
  fs.writeFileSync(file, JSON.stringify({ _base_: 'base.json', train: { iterations: 7 } }));
  const r = resolveConfig(file, ['loss.kappa=5', 'prototypes.known=cat,dog']);
  t.is(r.config.train.batch, 4);
  t.is(r.config.train.iterations, 7);
  t.is(r.config.train.lr, 1e-3);
  t.is(r.config.loss.kappa, 5);
  t.deepEqual(r.config.prototypes.known, ['cat', 'dog']);
  t.is(r.sources['train.batch'], base);
  const bad = (obj: object) => {
    fs.writeFileSync(file, JSON.stringify({ _base_: 'base.json', ...obj }));
    return file;
  };
  t.throws(() => resolveConfig(bad({ train: { itertions: 3 } })), { code: 'ERR_CLIPS4_CONFIG', message: `${file}: train.itertions: unknown key (did you mean 'train.iterations'?)` });
  t.throws(() => resolveConfig(bad({ train: { batch: 'eight' } })), { message: `${file}: train.batch: expected an integer but received "eight"` });
  t.throws(() => resolveConfig(bad({ train: { momentum: 2 } })), { message: `${file}: train.momentum: 2 is out of range (0 … 1)` });
  t.throws(() => resolveConfig(bad({ trian: {} })), { message: /trian: unknown section \(did you mean 'train'\?\)/ });
  t.throws(() => resolveConfig(bad({}), ['loss.kapa=3']), { message: "--set: loss.kapa: unknown key (did you mean 'loss.kappa'?)" });
  fs.writeFileSync(base, JSON.stringify({ _base_: 'c.json' }));
  t.throws(() => resolveConfig(file), { message: /config cycle/ });
});

function train(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, ['--import=tsx', path.join(repoRoot, 'scripts/train.ts'), ...args], { cwd: repoRoot, env: { ...process.env, CLIPS4_NUM_THREADS: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(p: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => p.on('exit', (code, signal) => resolve(signal ? -1 : code)));
}

test.serial('kill -9 then --resume equals an uninterrupted run; a crash inside a checkpoint write keeps the previous one', async (t) => {
  if (!fs.existsSync(path.join(repoRoot, 'lib', 'entry', 'train.js'))) {
    t.log('lib/ is not built; building it');
    spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot });
  }
  const world = path.join(dir, 'world');
  await generateWorld({ out: world, seed: 2, train: 12, val: 2, size: 48, crops: 0 });
  const words = WordTokenizer.fromTexts([...WORLD_CLASSES, 'a photo of the']);
  const clip = await Clip.create({ kind: 'vit', embedDim: 16, imageResolution: 48, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 16, textWidth: 64, textLayers: 1 }, words, { seed: 1 });
  const clipFile = path.join(dir, 'clip.safetensors');
  await clip.save(clipFile);
  const config = path.join(dir, 'tiny.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      _base_: path.join(repoRoot, 'configs', 'world-small.json'),
      data: { root: world, crop: 32, regions: 6, images: 12 },
      clip: { weights: clipFile },
      model: { layers: [1, 1, 1, 1], inner: [4, 8, 8, 8], out: [8, 8, 16, 16], stem: 8, headChannels: 8 },
      train: { iterations: 12, batch: 2 },
      checkpoint: { every: 2, keep: 2 },
      prototypes: { unknown: 4, topM: 2 },
    }),
  );
  const full = path.join(dir, 'full');
  const a = train(['--config', config, '--out', full]);
  let errA = '';
  a.stderr!.on('data', (d) => (errA += d));
  t.is(await finished(a), 0, errA);

  // SIGKILL after step 5 (checkpoints every 2 steps), then resume from step 4.
  const killed = path.join(dir, 'killed');
  const b = train(['--config', config, '--out', killed], { CLIPS4_TEST_KILL_AFTER_STEP: '5' });
  t.is(await finished(b), -1);
  t.is(fs.readFileSync(path.join(killed, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 5);
  const c = train(['--config', config, '--out', killed, '--resume']);
  let errC = '';
  c.stderr!.on('data', (d) => (errC += d));
  t.is(await finished(c), 0, errC);
  const resumedAt = Number(/resumed from .*ckpt-\d+ at iteration (\d+)/.exec(errC)?.[1]);
  t.is(resumedAt, 4, 'resumed from the last checkpoint before the kill');

  // A crash between writing checkpoint 4's files and renaming them into place.
  const crashed = path.join(dir, 'crashed');
  const d = train(['--config', config, '--out', crashed], { CLIPS4_TEST_CRASH_IN_CHECKPOINT: '4' });
  t.is(await finished(d), -1);
  const before = await loadLatest(crashed);
  t.is(before!.state.iteration, 2, 'the previous checkpoint is the one the pointer names, and it loads');
  const e = train(['--config', config, '--out', crashed, '--resume']);
  t.is(await finished(e), 0);

  const want = await safetensors.read(path.join(full, 'model.safetensors'));
  for (const run of [killed, crashed]) {
    const got = await safetensors.read(path.join(run, 'model.safetensors'));
    t.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const k of Object.keys(want)) t.deepEqual(Array.from(got[k].data as Float32Array), Array.from(want[k].data as Float32Array), `${path.basename(run)}: ${k}`);
  }
  t.true(fs.existsSync(path.join(full, 'config.json')));
  t.is(fs.readFileSync(path.join(full, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 12);

  // Training again into a finished run's folder without --resume is refused, and nothing in it changes.
  const files = ['config.json', 'metrics.jsonl', 'model.safetensors', 'last'].map((f) => fs.readFileSync(path.join(full, f)));
  const again = train(['--config', config, '--out', full]);
  let errAgain = '';
  again.stderr!.on('data', (d) => (errAgain += d));
  t.is(await finished(again), 1, errAgain);
  t.regex(errAgain, new RegExp(`^train: ${full.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already holds a training run \\(ckpt-0000010, ckpt-0000012, config\\.json, last, metrics\\.jsonl, model\\.safetensors\\): resume it \\(--resume\\), or train into another --out; nothing in it was changed \\[ERR_CLIPS4_STATE\\]\n$`));
  t.deepEqual(['config.json', 'metrics.jsonl', 'model.safetensors', 'last'].map((f) => fs.readFileSync(path.join(full, f))), files);
});

test.serial('SIGTERM stops a run after a checkpoint and then ends the process by the signal (no model file: the run did not finish)', async (t) => {
  const out = path.join(dir, 'sigterm');
  const p = train(['--config', path.join(repoRoot, 'configs', 'small.json'), '--out', out, '--set', 'train.iterations=100000', '--set', 'log.every=1', '--set', 'checkpoint.every=100000']);
  let err = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve) => {
    p.stderr!.on('data', (d) => {
      err += d;
      if (/it \d+\/100000/.test(err)) resolve();
    });
    p.on('exit', () => resolve());
  });
  p.kill('SIGTERM');
  const r = await exit;
  t.deepEqual(r, { code: null, signal: 'SIGTERM' }, err);
  t.regex(err, /SIGTERM received: saving a checkpoint after this step/);
  const last = await loadLatest(out);
  t.truthy(last, 'a checkpoint was written');
  t.true(last!.state.iteration >= 1);
  t.false(fs.existsSync(path.join(out, 'model.safetensors')), 'model.safetensors marks finished runs only');
});
