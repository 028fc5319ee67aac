// The CLIP guidance kernels (L_e, L_s, L_u, known prototypes, memory bank) and the per-image
// k-means, each against a small independent reference written here in plain TypeScript (float64),
// gradients against central finite differences of that reference.
import test from 'ava';
import * as kernels from '../src/kernels';
import { zeros, type Tensor } from '../src/tensor';

function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function rows(n: number, d: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => r() * 2 - 1));
}

const f32 = (m: number[][]): Tensor<'float32'> => ({ dtype: 'float32', shape: [m.length, m[0].length], data: new Float32Array(m.flat()) });
const unit = (a: number[]) => {
  const n = Math.hypot(...a) || 1e-12;
  return a.map((x) => x / Math.max(n, 1e-12));
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const cos = (a: number[], b: number[]) => dot(unit(a), unit(b));
const argmax = (a: number[]) => a.reduce((best, x, i) => (x > a[best] ? i : best), 0);

function refEmbedding(v: number[][], i: number[][]): number {
  return v.reduce((s, row, k) => s + 1 - cos(row, i[k]), 0) / v.length;
}

function refLabels(i: number[][], c: number[][]): number[] {
  return i.map((row) => argmax(c.map((p) => cos(row, p))));
}

function refSemantic(v: number[][], i: number[][], c: number[][], temperature: number): number {
  const y = refLabels(i, c);
  return (
    v.reduce((s, row, k) => {
      const logits = c.map((p) => cos(row, p) / temperature);
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((z, l) => z + Math.exp(l - max), 0));
      return s + lse - logits[y[k]];
    }, 0) / v.length
  );
}

function refUnknown(u: number[][], i: number[][], labels: number[], known: number): { loss: number; count: number } {
  let sum = 0;
  let count = 0;
  labels.forEach((l, k) => {
    if (l >= known) {
      sum += 1 - cos(u[l - known], i[k]);
      count++;
    }
  });
  return { loss: count ? sum / count : 0, count };
}

// Central differences of f at every entry of m, compared with `grad` (row-major).
function checkGradient(t: import('ava').ExecutionContext, m: number[][], grad: Float32Array, f: (m: number[][]) => number, what: string) {
  const h = 1e-4;
  m.forEach((row, r) =>
    row.forEach((x, d) => {
      const plus = m.map((q) => q.slice());
      const minus = m.map((q) => q.slice());
      plus[r][d] = x + h;
      minus[r][d] = x - h;
      const fd = (f(plus) - f(minus)) / (2 * h);
      t.true(Math.abs(grad[r * row.length + d] - fd) < 2e-3, `${what}[${r}][${d}]: ${grad[r * row.length + d]} vs ${fd}`);
    }),
  );
}

test('embeddingLoss is the mean of 1 − cos(v_s, i_s); its gradient matches finite differences', async (t) => {
  const v = rows(7, 5, 1);
  const i = rows(7, 5, 2);
  const r = await kernels.embeddingLoss({ segments: f32(v), clipSegments: f32(i) });
  t.true(Math.abs(r.loss - refEmbedding(v, i)) < 1e-5, `${r.loss} vs ${refEmbedding(v, i)}`);
  checkGradient(t, v, r.gradSegments.data, (m) => refEmbedding(m, i), 'dL_e/dv');
  // Identical directions cost nothing, whatever their lengths.
  t.true(Math.abs((await kernels.embeddingLoss({ segments: f32(i.map((a) => a.map((x) => 3 * x))), clipSegments: f32(i) })).loss) < 1e-6);
});

test('semanticLoss: pseudo-labels are the argmax over prototypes of CLIP segments; CE and gradient match the reference', async (t) => {
  const v = rows(9, 6, 3);
  const i = rows(9, 6, 4);
  const c = rows(5, 6, 5);
  for (const temperature of [1, 0.1]) {
    const r = await kernels.semanticLoss({ segments: f32(v), clipSegments: f32(i), prototypes: f32(c), temperature });
    t.deepEqual(Array.from(r.labels.data), refLabels(i, c));
    const ref = refSemantic(v, i, c, temperature);
    t.true(Math.abs(r.loss - ref) < 1e-4 * Math.max(1, ref), `T=${temperature}: ${r.loss} vs ${ref}`);
    checkGradient(t, v, r.gradSegments.data, (m) => refSemantic(m, i, c, temperature), `dL_s/dv (T=${temperature})`);
  }
});

test('unknownPrototypeLoss pulls each unknown prototype towards the CLIP segments assigned to it', async (t) => {
  const known = 3;
  const u = rows(4, 5, 6);
  const i = rows(10, 5, 7);
  const labels = [0, 3, 4, 4, 1, 6, 2, 3, 0, 6];
  const r = await kernels.unknownPrototypeLoss({ unknown: f32(u), clipSegments: f32(i), labels: { dtype: 'int32', shape: [10], data: new Int32Array(labels) }, known });
  const ref = refUnknown(u, i, labels, known);
  t.is(r.count, ref.count);
  t.true(Math.abs(r.loss - ref.loss) < 1e-5);
  checkGradient(t, u, r.gradUnknown.data, (m) => refUnknown(m, i, labels, known).loss, 'dL_u/dc');
  // Prototype 2 (label 5) has no segment: no gradient reaches it.
  t.true(Array.from(r.gradUnknown.data.subarray(2 * 5, 3 * 5)).every((g) => g === 0));
  // No segment on an unknown prototype: zero loss, zero gradient.
  const none = await kernels.unknownPrototypeLoss({ unknown: f32(u), clipSegments: f32(i), labels: { dtype: 'int32', shape: [10], data: new Int32Array(10) }, known });
  t.is(none.count, 0);
  t.is(none.loss, 0);
  await t.throwsAsync(() => kernels.unknownPrototypeLoss({ unknown: f32(u), clipSegments: f32(i), labels: { dtype: 'int32', shape: [10], data: new Int32Array(labels.map((l) => (l === 6 ? 7 : l))) }, known }), {
    message: /Expected a prototype index in \[0, 7\).*labels\[5\].*received number 7/,
  });
});

test('knownPrototypes: per class the normalised mean of the top-m segments by softmax over classes (knownPrototypeSegments: which, best first)', async (t) => {
  const S = 40;
  const E = 6;
  const seg = rows(S, E, 8).map(unit);
  const text = rows(3, E, 9).map(unit);
  for (const [m, scale] of [[1, 100], [5, 100], [7, 10]] as const) {
    const p = await kernels.knownPrototypes(f32(seg), f32(text), { m, logitScale: scale });
    t.deepEqual(p.shape, [3, E]);
    const picked = await kernels.knownPrototypeSegments(f32(seg), f32(text), { m, logitScale: scale });
    t.deepEqual(picked.shape, [3, m]);
    for (let k = 0; k < 3; k++) {
      // p_k = 1 / (1 + Σ_{j≠k} e^{l_j − l_k}): ordered by −log Σ_{j≠k} e^{l_j − l_k}, which does not
      // round to a tie where p_k rounds to 1.
      const prob = seg.map((s) => {
        const l = text.map((tk) => scale * dot(s, tk));
        const others = l.filter((_, j) => j !== k).map((x) => x - l[k]);
        const max = Math.max(...others);
        return -(max + Math.log(others.reduce((a, x) => a + Math.exp(x - max), 0)));
      });
      const top = prob.map((q, s) => [q, s]).sort((a, b) => b[0] - a[0]).slice(0, m).map(([, s]) => s);
      t.deepEqual(Array.from(picked.data.subarray(k * m, (k + 1) * m)), top, `m=${m} class ${k}: the segments, best first`);
      const ref = unit(top.reduce((acc, s) => acc.map((x, e) => x + seg[s][e]), new Array(E).fill(0)));
      ref.forEach((x, e) => t.true(Math.abs(p.data[k * E + e] - x) < 1e-5, `m=${m} class ${k} dim ${e}: ${p.data[k * E + e]} vs ${x}`));
    }
  }
  // m larger than the number of segments takes them all.
  const all = await kernels.knownPrototypes(f32(seg.slice(0, 3)), f32(text), { m: 32, logitScale: 100 });
  const mean = unit(seg.slice(0, 3).reduce((acc, s) => acc.map((x, e) => x + s[e]), new Array(E).fill(0)));
  mean.forEach((x, e) => t.true(Math.abs(all.data[e] - x) < 1e-5));
});

test('MemoryBank keeps the last `batches` pushes, oldest first, as copies', (t) => {
  const bank = new kernels.MemoryBank(2);
  t.deepEqual(bank.all(4).shape, [0, 4]);
  const batch = (n: number, v: number) => f32(Array.from({ length: n }, () => [v, v, v]));
  const first = batch(2, 1);
  bank.push(first);
  first.data.fill(9); // the bank holds its own copy
  bank.push(batch(3, 2));
  t.deepEqual(Array.from(bank.all().data), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  bank.push(batch(1, 3));
  t.deepEqual(bank.all().shape, [4, 3]);
  t.deepEqual(Array.from(bank.all().data), [2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3]);
  t.throws(() => bank.push(f32([[1, 2]])), { message: /segments/ });
  const off = new kernels.MemoryBank(0);
  off.push(batch(2, 1));
  t.deepEqual(off.all(3).shape, [0, 3]);
});

test('per-image k-means (the reference loop) gives the batched labels, ignored pixels included', async (t) => {
  const r = rng(11);
  const emb = zeros('float32', [4, 8, 13, 10]);
  for (let i = 0; i < emb.data.length; i++) emb.data[i] = r() * 2 - 1;
  const ignore = zeros('uint8', [4, 13, 10]);
  for (let i = 0; i < ignore.data.length; i += 7) ignore.data[i] = 1;
  const o = { grid: [3, 3] as [number, number], iterations: 6, locationWeight: 1.5, ignore };
  const batched = await kernels.sphericalKMeans(emb, o);
  const loop = await kernels.sphericalKMeans(emb, { ...o, impl: 'perImage' });
  t.deepEqual(Array.from(loop.labels.data), Array.from(batched.labels.data));
  t.true(Array.from(batched.labels.data).every((l, i) => (ignore.data[i] ? l === -1 : l >= 0 && l < 9)));
});
