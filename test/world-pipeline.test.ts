// The demo's pipeline at a tiny size: generate → pretrain a CLIP → reproduce, all files written
// and every table filled from the runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { generateWorld } from '../src/world';
import { pretrainClip } from '../src/world/pretrain-clip';
import { reproduce } from '../src/world/reproduce';
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
  const r = await reproduce({ data: world, clip: clipFile, out, iterations: 2, trainImages: 16, valImages: 4 });
  for (const k of ['maskclip', 'maskclipPlus', 'clips4'] as const) for (const m of ['known', 'unknown', 'hiou'] as const) t.true(r.classFree[k][m] >= 0 && r.classFree[k][m] <= 1);
  t.deepEqual(r.ablation.map((a) => a.losses), ['L_t + L_e + L_s', 'L_t', 'L_t + L_e', 'L_t + L_s', 'L_e + L_s']);
  t.is(r.clip.zeroShotTop1, pre.zeroShotTop1);
  for (const f of ['report.md', 'report.json', 'overlays.png', 'projection.png', 'per-class-iou.png']) t.true(fs.existsSync(path.join(out, f)), f);
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).knn, r.knn);
});
