// The report's claims (`clips4 world reproduce`): each must hold in every seed (and fold), so a
// mean over seeds never hides one where the claim fails.
import test from 'ava';
import { ablationClaim, claims } from '../src/world/claims';
import type { Report, RunResult } from '../src/world/reproduce';

const ROWS = ['clips4', 'lt', 'lt-le', 'lt-ls', 'le-ls'];

/** A run with every score at `miou` (the claims read the scores they compare). */
function run(name: string, seed: number, fold: number, miou: number): RunResult {
  return { name, seed, fold, miou, known: miou, unknown: miou, hiou: miou, knn: miou };
}

/** A report whose ablation rows (first fold) have the given mIoU per seed, in ROWS order. */
function report(perSeed: number[][], extra: RunResult[] = [], foldIds = [0, 1]): Report {
  const results = perSeed.flatMap((row, seed) => row.map((miou, i) => run(ROWS[i], seed, foldIds[0], miou)));
  return { clip: { file: 'clip.safetensors', zeroShotTop1: null, maskclipMiou: null }, seeds: perSeed.map((_, s) => s), foldIds, folds: foldIds.map(() => []), results: [...results, ...extra], claims: [], setting: {} };
}

test('the ablation claim holds when all three losses win in every seed, and shows each seed and the mean', (t) => {
  const c = ablationClaim(report([[0.44, 0.02, 0.41, 0.36, 0.42], [0.43, 0.01, 0.42, 0.35, 0.42]]));
  t.true(c.holds);
  t.deepEqual(c.evidence.split('; '), [
    'seed 0: clips4 44.0, lt 2.0, lt-le 41.0, lt-ls 36.0, le-ls 42.0',
    'seed 1: clips4 43.0, lt 1.0, lt-le 42.0, lt-ls 35.0, le-ls 42.0',
    'mean: clips4 43.5, lt 1.5, lt-le 41.5, lt-ls 35.5, le-ls 42.0',
  ]);
});

test('the ablation claim fails when another row wins in one seed, even if all three win on the mean', (t) => {
  // The 4,000-iteration demo's case: seed 2's L_t + L_e above all three, the mean still ahead.
  const r = report([[0.425, 0.019, 0.399, 0.351, 0.418], [0.425, 0.012, 0.402, 0.353, 0.409], [0.413, 0.015, 0.417, 0.357, 0.415]]);
  const mean = (i: number) => [0, 1, 2].reduce((a, s) => a + r.results.filter((x) => x.seed === s)[i].miou, 0) / 3;
  t.true([1, 2, 3, 4].every((i) => mean(0) > mean(i)), 'all three lead on the mean');
  t.false(ablationClaim(r).holds);
  t.false(claims(r).find((c) => c.claim.includes('ablation'))!.holds);
  // A tie is no win.
  t.false(ablationClaim(report([[0.42, 0.01, 0.42, 0.3, 0.4]])).holds);
});

test('the ablation claim fails when a seed lacks a row, and reads only the first fold', (t) => {
  const missing = report([[0.44, 0.02, 0.41, 0.36, 0.42], [0.43, 0.01, 0.42, 0.35, 0.42]]);
  missing.results = missing.results.filter((x) => !(x.seed === 1 && x.name === 'le-ls'));
  t.false(ablationClaim(missing).holds);
  t.regex(ablationClaim(missing).evidence, /seed 1: .*le-ls —/);
  // A second fold's CLIP-S4 run (Table 3 only) does not enter the ablation, whichever fold is first.
  for (const foldIds of [[0, 1], [1, 0]]) {
    const r = report([[0.44, 0.02, 0.41, 0.36, 0.42]], [run('clips4', 0, foldIds[1], 0.1)], foldIds);
    t.true(ablationClaim(r).holds, `folds ${foldIds}`);
  }
  t.false(ablationClaim(report([])).holds, 'no runs: nothing shown to hold');
});

test('the Table 3 claims pair runs by seed and fold and fail when one pair fails', (t) => {
  const teacher = [0, 1].flatMap((seed) => [0, 1].map((fold) => run('maskclip', seed, fold, 0.4)));
  const student = (worst: number) => [0, 1].flatMap((seed) => [0, 1].map((fold) => run('clips4', seed, fold, seed === 1 && fold === 1 ? worst : 0.5)));
  const known = (worst: number) => {
    const r = report([], [...teacher, ...student(worst)]);
    return claims(r).find((c) => c.claim === 'CLIP-S4 beats MaskCLIP on known classes')!;
  };
  t.true(known(0.41).holds);
  t.is(known(0.41).evidence.split('; ').length, 4);
  t.false(known(0.39).holds);
  t.regex(known(0.39).evidence, /seed 1 fold 1: 39\.0 vs 40\.0/);
});
