import test from 'ava';
import { ConfusionMatrix } from '../src/eval/metrics';

function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

test('metrics agree with a naive per-pixel reference (ignore pixels, absent classes)', (t) => {
  const r = rng(42);
  const n = 6;
  const cm = new ConfusionMatrix(n);
  const preds: number[][] = [];
  const gts: number[][] = [];
  for (let img = 0; img < 5; img++) {
    // Class 5 never appears in either; class 4 only in predictions.
    const gt = Array.from({ length: 100 }, () => (r() < 0.1 ? 255 : Math.floor(r() * 4)));
    const pred = gt.map((g) => (r() < 0.6 && g !== 255 ? g : Math.floor(r() * 5)));
    cm.add(pred, gt);
    preds.push(pred);
    gts.push(gt);
  }
  const P = preds.flat();
  const G = gts.flat();
  const ious: (number | null)[] = [];
  for (let c = 0; c < n; c++) {
    let inter = 0;
    let uni = 0;
    for (let i = 0; i < P.length; i++) {
      if (G[i] === 255) continue;
      if (P[i] === c && G[i] === c) inter++;
      if (P[i] === c || G[i] === c) uni++;
    }
    ious.push(uni ? inter / uni : null);
  }
  const s = cm.scores();
  t.is(s.per_class_iou[5], null);
  t.is(s.per_class_iou[4], 0);
  s.per_class_iou.forEach((v, c) => (v === null ? t.is(ious[c], null) : t.true(Math.abs(v - ious[c]!) < 1e-12)));
  const present = ious.filter((v): v is number => v !== null);
  t.true(Math.abs(s.miou - present.reduce((a, b) => a + b, 0) / present.length) < 1e-12);
  const valid = G.map((g, i) => [g, P[i]]).filter(([g]) => g !== 255);
  t.true(Math.abs(s.pacc - valid.filter(([g, p]) => g === p).length / valid.length) < 1e-12);
  const accs = [0, 1, 2, 3].map((c) => valid.filter(([g, p]) => g === c && p === c).length / valid.filter(([g]) => g === c).length);
  t.true(Math.abs(s.macc - accs.reduce((a, b) => a + b, 0) / 4) < 1e-12);
  t.regex(s.note, /5 classes present .* 1 absent class/);
  const cf = cm.classFree([2, 3]);
  const k = (ious[0]! + ious[1]! + ious[4]!) / 3;
  const u = (ious[2]! + ious[3]!) / 2;
  t.true(Math.abs(cf.known - k) < 1e-12 && Math.abs(cf.unknown - u) < 1e-12);
  t.true(Math.abs(cf.hiou - (2 * k * u) / (k + u)) < 1e-12);
  t.throws(() => cm.add([9], [1]), { message: /predicted label 9 at pixel 0 is outside 0..5/ });
  t.throws(() => cm.add([1, 2], [1]), { message: /same size/ });
});
