// k-NN evaluation (SegSort protocol, REFERENCE §5): segments from k-means on the embeddings;
// training segments labelled by the majority ground truth (majority 'ignore' dropped); each test
// segment takes the majority label of its k nearest training segments (cosine).
import { matmul } from '../ops';
import { ConfusionMatrix } from './metrics';

export interface SegmentedImage {
  /** Segment id per pixel at label resolution (−1 = none). */
  segments: Int32Array;
  /** Segment embeddings [count, D], L2-normalised. */
  embeddings: Float32Array;
  count: number;
  labels: ArrayLike<number>;
}

function majority(labels: ArrayLike<number>, segments: Int32Array, count: number, numClasses: number, ignore: number): number[] {
  const votes = Array.from({ length: count }, () => new Float64Array(numClasses + 1));
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if (s < 0) continue;
    const l = labels[i];
    votes[s][l === ignore ? numClasses : l]++;
  }
  return votes.map((v) => {
    let best = 0;
    for (let c = 1; c <= numClasses; c++) if (v[c] > v[best]) best = c;
    return best === numClasses ? -1 : best;
  });
}

/** Indices of the k largest values of `row` (ties: the lower index first), best first. */
export function topK(row: ArrayLike<number>, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < row.length; i++) {
    if (idx.length === k && row[i] <= row[idx[k - 1]]) continue;
    let j = idx.length < k ? idx.length : k - 1;
    idx[j] = i;
    while (j > 0 && row[idx[j - 1]] < row[i]) {
      idx[j] = idx[j - 1];
      idx[--j] = i;
    }
  }
  return idx;
}

/**
 * Labels every test segment by a majority vote of its k nearest training segments (cosine of the
 * normalised mean embeddings, computed natively in blocks of test segments) and accumulates the
 * confusion at label resolution.
 */
export async function knnEvaluate(train: SegmentedImage[], test: SegmentedImage[], options: { numClasses: number; k?: number; ignore?: number; dim: number; block?: number }): Promise<ConfusionMatrix> {
  const { numClasses, dim } = options;
  const k = options.k ?? 20;
  const ignore = options.ignore ?? 255;
  const bankRows: number[] = [];
  const bankL: number[] = [];
  const bankSrc: Float32Array[] = [];
  for (const t of train) {
    majority(t.labels, t.segments, t.count, numClasses, ignore).forEach((l, s) => {
      if (l < 0) return;
      bankL.push(l);
      bankRows.push(s);
      bankSrc.push(t.embeddings);
    });
  }
  const M = bankL.length;
  const cm = new ConfusionMatrix(numClasses, ignore);
  // The bank transposed [dim, M] so that a block of queries [q, dim] · bank gives [q, M] similarities.
  const bankT = new Float32Array(dim * Math.max(M, 1));
  for (let m = 0; m < M; m++) for (let d = 0; d < dim; d++) bankT[d * Math.max(M, 1) + m] = bankSrc[m][bankRows[m] * dim + d];
  const queries = test.flatMap((t, i) => Array.from({ length: t.count }, (_, s) => [i, s] as const));
  const segLabels = test.map((t) => new Int32Array(t.count));
  const block = options.block ?? 256;
  for (let q0 = 0; q0 < queries.length && M > 0; q0 += block) {
    const part = queries.slice(q0, q0 + block);
    const Q = new Float32Array(part.length * dim);
    part.forEach(([i, s], r) => Q.set(test[i].embeddings.subarray(s * dim, (s + 1) * dim), r * dim));
    const sims = (await matmul({ dtype: 'float32', shape: [part.length, dim], data: Q }, { dtype: 'float32', shape: [dim, M], data: bankT })).data;
    part.forEach(([i, s], r) => {
      const votes = new Float64Array(numClasses);
      for (const m of topK(sims.subarray(r * M, (r + 1) * M), k)) votes[bankL[m]]++;
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
      segLabels[i][s] = best;
    });
  }
  test.forEach((t, i) => {
    const pred = new Int32Array(t.segments.length);
    for (let p = 0; p < pred.length; p++) pred[p] = t.segments[p] < 0 ? 0 : segLabels[i][t.segments[p]];
    cm.add(pred, t.labels);
  });
  return cm;
}
