// The report's fourth Table 3 row, CLIP-S4 on the teacher's best training-free variant: which variant
// a teacher gets, that its training settings and its evaluation compute the same features, and that
// report.md and the headline show its rows (or say why there are none).
import * as path from 'node:path';
import test from 'ava';
import { bestVariant, runSpecs, type Report, type RunResult } from '../src/world/reproduce';
import { headline, renderReport } from '../src/world/report';
import { resolveConfig } from '../src/train/config';
import { repoRoot } from './helpers/fixtures';

test('a ViT gets ClearCLIP; a ResNet CLIP gets MaskCLIP over windows half-overlapping, in multiples of its stride', (t) => {
  t.deepEqual(bestVariant('vit', 448, 16), { name: 'clearclip', label: 'ClearCLIP', load: { variant: 'clearclip' }, sets: ['clip.variant=clearclip'] });
  const rn = bestVariant('resnet', 384, 32)!;
  t.deepEqual(rn.load, { window: 192, stride: 96 });
  t.is(rn.name, 'maskclip-windows');
  t.is(rn.label, 'MaskCLIP, windows 192/96');
  // 448 / 4 = 112 is no multiple of 32: the step rounds down to 96, the window is twice it.
  t.deepEqual(bestVariant('resnet', 448, 32)!.load, { window: 192, stride: 96 });
  // Too small a side for two strides per window: no variant (the report says so).
  t.is(bestVariant('resnet', 96, 32), undefined);
  t.deepEqual(bestVariant('resnet', 128, 32)!.load, { window: 64, stride: 32 });
});

test("the variant's training settings give the features its teacher row is scored on", (t) => {
  for (const v of [bestVariant('resnet', 384, 32)!, bestVariant('vit', 224, 16)!]) {
    const { config } = resolveConfig(path.join(repoRoot, 'configs', 'world-small.json'), v.sets);
    t.is(config.clip.variant, v.load.variant ?? 'maskclip', v.name);
    t.is(config.clip.window, v.load.window ?? 0, v.name);
    t.is(config.clip.windowStride, v.load.stride ?? 0, v.name);
  }
  const specs = runSpecs('all', [0.4], 0.1, bestVariant('resnet', 384, 32));
  const run = specs.find((s) => s.name === 'clips4-maskclip-windows')!;
  t.deepEqual(run.sets, ['clip.window=192', 'clip.windowStride=96']);
  t.is(run.config, 'world-small.json');
  t.true(run.everyFold, 'a Table 3 row: trained for every held-out fold');
  t.false(runSpecs('all', [0.4], 0.1).some((s) => s.name.startsWith('clips4-')), 'no variant, no run');
  t.false(runSpecs('oracle', [0.4], 0.1, bestVariant('vit', 224, 16)).some((s) => s.name.startsWith('clips4')), 'the oracle experiment alone');
});

function result(name: string, seed: number, fold: number, known: number, unknown: number): RunResult {
  return { name, seed, fold, known, unknown, hiou: (2 * known * unknown) / (known + unknown), miou: (known + unknown) / 2, knn: known };
}

function report(variant: { name: string; label: string } | null, leftOut = false): Report {
  const results: RunResult[] = [];
  for (const seed of [0, 1])
    for (const fold of [0, 1]) {
      results.push(result('maskclip', seed, fold, 0.4, 0.3), result('clips4', seed, fold, 0.45, 0.35));
      if (variant) results.push(result(variant.name, seed, fold, 0.42, 0.32), result(`clips4-${variant.name}`, seed, fold, 0.46 + 0.02 * seed, 0.36 + 0.02 * fold));
    }
  const setting = { teacherKind: 'resnet', bestVariant: variant, bestVariantLeftOut: leftOut, valImages: 4, knnTrainImages: 8, noise: 0.1, minutes: 1, corruptions: [], runs: 'runs', config: { train: { iterations: 2, batch: 8 }, data: { images: 16, crop: 64 }, clip: { side: 384 } } };
  return { clip: { file: 'clip.safetensors', zeroShotTop1: 0.7, maskclipMiou: 0.4 }, seeds: [0, 1], foldIds: [0, 1], folds: [['a'], ['b']], results, claims: [], setting };
}

test("report.md and the headline carry the variant's rows, as mean ± std over seeds and folds", (t) => {
  const v = bestVariant('resnet', 384, 32)!;
  const r = report({ name: v.name, label: v.label });
  const md = renderReport(r, [{ name: `clips4-${v.name}`, label: `CLIP-S4 on ${v.label}` }]);
  t.regex(md, /\| MaskCLIP, windows 192\/96 \(teacher\) \| 42\.0 ± 0\.0 \| 32\.0 ± 0\.0 \| 36\.3 ± 0\.0 \|/);
  // known 0.46, 0.46, 0.48, 0.48 → 47.0 ± 1.2; unknown 0.36, 0.38, 0.36, 0.38 → 37.0 ± 1.2
  t.regex(md, /\| CLIP-S4 on MaskCLIP, windows 192\/96 \| 47\.0 ± 1\.2 \| 37\.0 ± 1\.2 \| /);
  t.regex(md, /best training-free variant of this ResNet teacher is MaskCLIP, windows 192\/96/);
  const head = headline(r).split('\n');
  t.true(head.some((l) => /^\| CLIP-S4 on MaskCLIP, windows 192\/96 \|  47\.0 \|    37\.0 \|/.test(l)), head.join('\n'));
  const bars = (l: string) => [...l].flatMap((c, i) => (c === '|' ? [i] : [])).join(',');
  t.is(new Set(head.map(bars)).size, 1, `the headline's columns line up:\n${head.join('\n')}`);
});

test('without the variant, report.md has no such rows and says why', (t) => {
  const md = renderReport(report(null, true), []);
  t.notRegex(md, /windows 192/);
  t.regex(md, /No rows of the teacher's best training-free variant: left out/);
  t.regex(renderReport(report(null), []), /No rows of the teacher's best training-free variant: this ResNet teacher's images \(clip\.side\) are too small/);
  t.regex(md, /\| CLIP-S4 \| 45\.0 ± 0\.0 \| 35\.0 ± 0\.0 \|/);
});
