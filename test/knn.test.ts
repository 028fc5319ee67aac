// k-NN evaluation against a naive reference written here (float64 cosine, full sort, majority
// votes), and topK against sorting.
import test from 'ava';
import { knnEvaluate, topK, type SegmentedImage } from '../src/eval/knn';
import { kmeansSegments, KNN_KMEANS } from '../src/eval/segments';
import { sphericalKMeans } from '../src/kernels';

function lcg(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

test('topK equals the first k of a stable descending sort', (t) => {
  const r = lcg(5);
  for (const n of [1, 7, 50]) {
    const row = Float32Array.from({ length: n }, () => Math.floor(r() * 10) / 10);
    for (const k of [1, 3, 20]) {
      const expected = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, k);
      t.deepEqual(topK(row, k), expected, `n ${n} k ${k}`);
    }
  }
});

/** Images of P pixels in S segments; a segment's embedding is near its class direction, labels mostly its class. */
function images(n: number, C: number, D: number, r: () => number): SegmentedImage[] {
  return Array.from({ length: n }, () => {
    const S = 5;
    const P = 40;
    const segClass = Array.from({ length: S }, () => Math.floor(r() * C));
    const segments = Int32Array.from({ length: P }, (_, p) => (p % 13 === 12 ? -1 : p % S));
    const labels = Uint8Array.from(segments, (s, p) => (p % 11 === 0 ? 255 : s < 0 ? 0 : r() < 0.8 ? segClass[s] : Math.floor(r() * C)));
    const embeddings = new Float32Array(S * D);
    for (let s = 0; s < S; s++) {
      let norm = 0;
      for (let d = 0; d < D; d++) norm += (embeddings[s * D + d] = (d === segClass[s] ? 1 : 0) + r() * 0.8) ** 2;
      for (let d = 0; d < D; d++) embeddings[s * D + d] /= Math.sqrt(norm);
    }
    return { segments, embeddings, count: S, labels };
  });
}

test('knnEvaluate matches a naive majority-vote k-NN', async (t) => {
  const r = lcg(11);
  const C = 4;
  const D = 6;
  const k = 5;
  const train = images(12, C, D, r);
  const val = images(6, C, D, r);
  // Naive reference.
  const bank: { e: number[]; l: number }[] = [];
  for (const im of train) {
    for (let s = 0; s < im.count; s++) {
      const votes = new Array(C + 1).fill(0);
      im.segments.forEach((g, p) => g === s && votes[im.labels[p] === 255 ? C : im.labels[p]]++);
      const best = votes.indexOf(Math.max(...votes));
      if (best !== C) bank.push({ e: Array.from(im.embeddings.subarray(s * D, (s + 1) * D)), l: best });
    }
  }
  const expected = Array.from({ length: C }, () => new Array(C).fill(0));
  for (const im of val) {
    const segLabel = Array.from({ length: im.count }, (_, s) => {
      const q = im.embeddings.subarray(s * D, (s + 1) * D);
      const near = bank.map((b, i) => ({ i, sim: b.e.reduce((a, v, d) => a + v * q[d], 0) })).sort((a, b) => b.sim - a.sim).slice(0, k);
      const votes = new Array(C).fill(0);
      for (const n of near) votes[bank[n.i].l]++;
      return votes.indexOf(Math.max(...votes));
    });
    im.segments.forEach((s, p) => {
      if (im.labels[p] !== 255) expected[im.labels[p]][s < 0 ? 0 : segLabel[s]]++;
    });
  }
  const cm = await knnEvaluate(train, val, { numClasses: C, k, dim: D, block: 4 });
  t.deepEqual(cm.rows(), expected);
});

test('k-NN segments follow the supplement: 36 k-means segments from 20 iterations', async (t) => {
  t.deepEqual(KNN_KMEANS, { grid: [6, 6], iterations: 20, locationWeight: 1 });
  // Features where k-means has not settled after 10 iterations, so 10 and 20 give other segments.
  const r = lcg(11);
  const [D, h, w] = [8, 30, 30];
  const f = { dtype: 'float32' as const, shape: [1, D, h, w], data: Float32Array.from({ length: D * h * w }, () => r() - 0.5) };
  const l10 = (await sphericalKMeans(f, { grid: [6, 6], iterations: 10, locationWeight: 1 })).labels.data;
  const l20 = (await sphericalKMeans(f, { grid: [6, 6], iterations: 20, locationWeight: 1 })).labels.data;
  t.notDeepEqual(Array.from(l10), Array.from(l20), 'the data must tell 10 from 20 iterations');
  const [seg] = await kmeansSegments(f, [{ width: w, height: h }]);
  // Same partition as 20 iterations (segment ids are renumbered per image).
  const pairs = new Set(Array.from(seg.segments, (s, p) => `${s}:${l20[p]}`));
  t.is(pairs.size, new Set(l20).size);
  t.is(seg.count, new Set(l20).size);
});
