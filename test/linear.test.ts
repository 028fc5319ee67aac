// The linear probe against independent expectations: its SGD steps equal steps taken with
// finite-difference gradients of a naive loss; it separates linearly separable embeddings perfectly;
// prediction equals the naive per-cell argmax; cell sampling skips ignored cells.
import test from 'ava';
import { createProbe, probePredict, sampleCells, sgdState, sgdStep, trainLinearProbe, type LinearProbe, type ProbeData } from '../src/eval/linear';

function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/** Mean softmax cross-entropy of the rows, written out directly in float64. */
function naiveLoss(w: number[], b: number[], C: number, D: number, data: ProbeData, rows: number[]): number {
  let total = 0;
  for (const i of rows) {
    const z = Array.from({ length: C }, (_, c) => b[c] + Array.from({ length: D }, (_, d) => w[c * D + d] * data.x[i * D + d]).reduce((a, v) => a + v, 0));
    const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
    total += lse - z[data.y[i]];
  }
  return total / rows.length;
}

test('sgdStep equals SGD with momentum and weight decay on finite-difference gradients', async (t) => {
  const r = lcg(7);
  const C = 3;
  const D = 4;
  const n = 6;
  const data: ProbeData = { x: Float32Array.from({ length: n * D }, () => r() * 2 - 1), y: Uint8Array.from({ length: n }, (_, i) => i % C), dim: D };
  const p: LinearProbe = createProbe(C, D);
  p.weight.forEach((_, k) => (p.weight[k] = r() - 0.5));
  p.bias.forEach((_, k) => (p.bias[k] = r() - 0.5));
  const rows = [0, 2, 3, 5];
  const lr = 0.3;
  const momentum = 0.9;
  const weightDecay = 0.01;
  // The reference: w, b in float64, gradients by central differences, PyTorch's SGD update.
  let w = Array.from(p.weight);
  let b = Array.from(p.bias);
  const vw = new Array(C * D).fill(0);
  const vb = new Array(C).fill(0);
  const s = sgdState(p);
  for (let step = 0; step < 2; step++) {
    const expectedLoss = naiveLoss(w, b, C, D, data, rows);
    const h = 1e-6;
    const gw = w.map((_, k) => (naiveLoss(w.map((v, j) => (j === k ? v + h : v)), b, C, D, data, rows) - naiveLoss(w.map((v, j) => (j === k ? v - h : v)), b, C, D, data, rows)) / (2 * h));
    const gb = b.map((_, k) => (naiveLoss(w, b.map((v, j) => (j === k ? v + h : v)), C, D, data, rows) - naiveLoss(w, b.map((v, j) => (j === k ? v - h : v)), C, D, data, rows)) / (2 * h));
    w = w.map((v, k) => {
      vw[k] = momentum * vw[k] + gw[k] + weightDecay * v;
      return v - lr * vw[k];
    });
    b = b.map((v, k) => {
      vb[k] = momentum * vb[k] + gb[k];
      return v - lr * vb[k];
    });
    const loss = await sgdStep(p, s, data, rows, lr, { momentum, weightDecay });
    t.true(Math.abs(loss - expectedLoss) < 1e-5, `step ${step}: loss ${loss} vs ${expectedLoss}`);
    w.forEach((v, k) => t.true(Math.abs(p.weight[k] - v) < 1e-5, `step ${step}: weight ${k} ${p.weight[k]} vs ${v}`));
    b.forEach((v, k) => t.true(Math.abs(p.bias[k] - v) < 1e-5, `step ${step}: bias ${k} ${p.bias[k]} vs ${v}`));
  }
});

/** Points near class-specific unit directions (plus ignored rows that would confuse it if used). */
function separable(n: number, C: number, D: number, seed: number): ProbeData {
  const r = lcg(seed);
  const x = new Float32Array(n * D);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    y[i] = i % 10 === 9 ? 255 : c;
    let norm = 0;
    for (let d = 0; d < D; d++) {
      x[i * D + d] = (d === c ? 1 : 0) + (r() - 0.5) * 0.4;
      norm += x[i * D + d] ** 2;
    }
    for (let d = 0; d < D; d++) x[i * D + d] /= Math.sqrt(norm);
  }
  return { x, y, dim: D };
}

test('the probe reaches 100% pixel accuracy on linearly separable embeddings', async (t) => {
  const C = 4;
  const D = 8;
  const probe = await trainLinearProbe(separable(400, C, D, 1), C, { iterations: 300, batch: 64, lr: 0.5 });
  const held = separable(200, C, D, 2);
  let right = 0;
  let total = 0;
  for (let i = 0; i < 200; i++) {
    if (held.y[i] === 255) continue;
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < C; c++) {
      let z = probe.bias[c];
      for (let d = 0; d < D; d++) z += probe.weight[c * D + d] * held.x[i * D + d];
      if (z > bv) [bv, best] = [z, c];
    }
    total++;
    if (best === held.y[i]) right++;
  }
  t.is(right, total);
});

test('probePredict at the feature resolution is the argmax of the logits of the normalised cells', async (t) => {
  const r = lcg(3);
  const C = 3;
  const D = 5;
  const h = 4;
  const w = 6;
  const p = createProbe(C, D);
  p.weight.forEach((_, k) => (p.weight[k] = r() - 0.5));
  p.bias.forEach((_, k) => (p.bias[k] = (r() - 0.5) * 0.1));
  const feats = Float32Array.from({ length: D * h * w }, () => r() * 4 - 2);
  const pred = await probePredict(p, feats, h, w, w, h);
  for (let cell = 0; cell < h * w; cell++) {
    const v = Array.from({ length: D }, (_, d) => feats[d * h * w + cell]);
    const n = Math.hypot(...v);
    const z = Array.from({ length: C }, (_, c) => p.bias[c] + v.reduce((a, x, d) => a + (p.weight[c * D + d] * x) / n, 0));
    t.is(pred[cell], z.indexOf(Math.max(...z)), `cell ${cell}`);
  }
});

test('sampleCells takes the label under each cell centre, skips ignore, and caps the count', (t) => {
  const D = 3;
  const h = 2;
  const w = 3;
  // Feature of cell (cy, cx) = (1, cy, cx) so each normalised row tells which cell it came from.
  const feats = new Float32Array(D * h * w);
  for (let cy = 0; cy < h; cy++) for (let cx = 0; cx < w; cx++) [feats[cy * w + cx], feats[h * w + cy * w + cx], feats[2 * h * w + cy * w + cx]] = [1, cy, cx];
  // Labels 6×4: value = 10·cy + cx of the cell it falls in; cell (1, 2) is ignored.
  const label = { width: 6, height: 4, data: new Uint8Array(24) };
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) label.data[y * 6 + x] = Math.floor(y / 2) === 1 && Math.floor(x / 2) === 2 ? 255 : 10 * Math.floor(y / 2) + Math.floor(x / 2);
  const all = sampleCells(feats, D, h, w, label, 100, 0);
  t.is(all.y.length, 5);
  for (let i = 0; i < 5; i++) {
    const [a, b, c] = [all.x[i * 3], all.x[i * 3 + 1], all.x[i * 3 + 2]];
    t.true(Math.abs(Math.hypot(a, b, c) - 1) < 1e-6);
    const [cy, cx] = [Math.round(b / a), Math.round(c / a)];
    t.is(all.y[i], 10 * cy + cx);
    t.not(10 * cy + cx, 12, 'the ignored cell is never sampled');
  }
  t.is(sampleCells(feats, D, h, w, label, 3, 0).y.length, 3);
});

test('trainLinearProbe rejects bad options and mismatched data with named errors', async (t) => {
  const data = separable(20, 2, 3, 4);
  await t.throwsAsync(() => trainLinearProbe(data, 2, { iteration: 5 } as never), { message: /did you mean 'iterations'.*for options\.iteration / });
  await t.throwsAsync(() => trainLinearProbe(data, 2, { lr: -1 }), { message: /Expected a number >= 0 for options\.lr but received (number )?-1/ });
  await t.throwsAsync(() => trainLinearProbe({ ...data, dim: 4 }, 2), { message: /Expected 20 × 4 embedding values for data\.x/ });
  await t.throwsAsync(() => trainLinearProbe(data, 0), { message: /numClasses/ });
});
