// Every shipped config resolves against the schema (no unknown keys, types and ranges hold), and the
// paper presets switch the losses as Table 6 and the MaskCLIP+ baseline say.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { resolveConfig } from '../src/train/config';
import { repoRoot } from './helpers/fixtures';

const dir = path.join(repoRoot, 'configs');

test('every config in configs/ resolves', (t) => {
  // _base_.json is a fragment (it names no CLIP weights) and only composes into the others.
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== '_base_.json');
  t.true(files.length >= 10);
  for (const f of files) t.notThrows(() => resolveConfig(path.join(dir, f)), f);
});

test('Table 6 presets on Pascal Context and the MaskCLIP+ preset', (t) => {
  const loss = (f: string) => resolveConfig(path.join(dir, f)).config.loss as Record<string, unknown>;
  const on = (f: string) => [loss(f).contrastive, loss(f).embedding, loss(f).semantic];
  t.deepEqual(on('paper-context-ablation-lt.json'), [true, false, false]);
  t.deepEqual(on('paper-context-ablation-lt-le.json'), [true, true, false]);
  t.deepEqual(on('paper-context-ablation-lt-ls.json'), [true, false, true]);
  t.deepEqual(on('paper-context-ablation-le-ls.json'), [false, true, true]);
  t.deepEqual(on('paper-context.json'), [true, true, true]);
  t.is(resolveConfig(path.join(dir, 'paper-context.json')).config.data.kind, 'context');
  t.is(loss('paper-voc-maskclip-plus.json').maskclipPlus, true);
  const paper = resolveConfig(path.join(dir, 'paper-voc.json')).config;
  t.deepEqual([paper.train.batch, paper.data.crop, paper.segments.grid, paper.loss.kappa, paper.loss.bankBatches, paper.prototypes.topM, paper.prototypes.unknown, paper.train.iterations], [8, 336, [6, 6], 10, 2, 32, 64, 20000]);
});
