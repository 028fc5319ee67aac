// DAVIS: J and F on shapes with known answers, and label propagation on the real fixture with
// raw-colour features, scored against the trivial baseline (the first-frame mask copied).
import * as fs from 'node:fs';
import test from 'ava';
import { davisSequences } from '../src/data/datasets';
import { boundaryF, davisScores, jaccard, propagateLabels } from '../src/eval/davis';
import { colourFeatures } from '../src/eval/davis-run';
import { decodeIndexedPng } from '../src/io/png';
import { fixture, fixtureTest } from './helpers/fixtures';

function square(W: number, H: number, x0: number, y0: number, s: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) m[y * W + x] = 1;
  return m;
}

test('J and F on known shapes', (t) => {
  const a = square(100, 100, 10, 10, 20);
  t.is(jaccard(a, a, 1), 1);
  t.is(boundaryF(a, a, 1, 100, 100), 1);
  const b = square(100, 100, 20, 10, 20); // overlap 10×20 of union 30×20
  t.true(Math.abs(jaccard(a, b, 1) - 200 / 600) < 1e-12);
  // Tolerance ceil(0.008·141.4) = 2 px: a 1-px shift keeps F at 1, a 10-px shift does not.
  t.is(boundaryF(a, square(100, 100, 11, 10, 20), 1, 100, 100), 1);
  t.true(boundaryF(a, b, 1, 100, 100) < 0.7);
  t.is(jaccard(new Uint8Array(4), new Uint8Array(4), 1), 1);
  t.is(boundaryF(new Uint8Array(4), a.subarray(0, 4), 1, 2, 2), 1);
});

fixtureTest('propagation on the real DAVIS sequences, scored against copying the first mask', async (t) => {
  const seqs = davisSequences(fixture('real', 'DAVIS'));
  const results = [];
  const baseline = [];
  for (const s of seqs) {
    const frames = s.frames.slice(0, 12);
    const gt = s.annotations.slice(0, 12).map((f) => decodeIndexedPng(fs.readFileSync(f)).data);
    const feats = await Promise.all(frames.map((f) => colourFeatures(f, 16)));
    const { W, H } = feats[0];
    const pred = propagateLabels(feats, gt[0], W, H, 2, { context: 5 });
    t.is(pred.length, frames.length);
    results.push({ name: s.name, pred, gt, width: W, height: H });
    baseline.push({ name: s.name, pred: gt.map(() => gt[0]), gt, width: W, height: H });
  }
  const ours = davisScores(results);
  const copy = davisScores(baseline);
  t.log(`propagation J&F ${(ours.JF * 100).toFixed(1)} (J ${(ours.J * 100).toFixed(1)}, F ${(ours.F * 100).toFixed(1)}); first-mask copy ${(copy.JF * 100).toFixed(1)}`);
  for (const v of [ours.J, ours.F, copy.J, copy.F]) t.true(v >= 0 && v <= 1);
  t.true(ours.J > 0.2, 'propagated masks overlap the objects');
});
