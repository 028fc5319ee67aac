// k-NN evaluation (SegSort protocol, REFERENCE §5): segments from k-means on the embeddings;
// training segments labelled by the majority ground truth (majority 'ignore' dropped); each test
// segment takes the majority label of its k nearest training segments (cosine).
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

export function knnEvaluate(train: SegmentedImage[], test: SegmentedImage[], options: { numClasses: number; k?: number; ignore?: number; dim: number }): ConfusionMatrix {
  const { numClasses, dim } = options;
  const k = options.k ?? 20;
  const ignore = options.ignore ?? 255;
  const bankE: number[] = [];
  const bankL: number[] = [];
  for (const t of train) {
    majority(t.labels, t.segments, t.count, numClasses, ignore).forEach((l, s) => {
      if (l < 0) return;
      bankL.push(l);
      for (let d = 0; d < dim; d++) bankE.push(t.embeddings[s * dim + d]);
    });
  }
  const E = Float32Array.from(bankE);
  const M = bankL.length;
  const cm = new ConfusionMatrix(numClasses, ignore);
  for (const t of test) {
    const segLabel = new Int32Array(t.count);
    for (let s = 0; s < t.count; s++) {
      const sims = new Float64Array(M);
      for (let m = 0; m < M; m++) {
        let v = 0;
        for (let d = 0; d < dim; d++) v += E[m * dim + d] * t.embeddings[s * dim + d];
        sims[m] = v;
      }
      const order = Array.from({ length: M }, (_, i) => i).sort((a, b) => sims[b] - sims[a]).slice(0, k);
      const votes = new Float64Array(numClasses);
      for (const i of order) votes[bankL[i]]++;
      let best = 0;
      for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
      segLabel[s] = best;
    }
    const pred = new Int32Array(t.segments.length);
    for (let i = 0; i < pred.length; i++) pred[i] = t.segments[i] < 0 ? 0 : segLabel[t.segments[i]];
    cm.add(pred, t.labels);
  }
  return cm;
}
