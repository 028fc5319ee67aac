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
 * The labelled training segments: images are added one at a time (only their segment embeddings and
 * majority labels are kept, not their maps), then test segments are labelled by a majority vote of
 * their k nearest bank segments (cosine, computed natively in blocks of test segments).
 */
export class SegmentBank {
  private readonly rows: Float32Array[] = [];
  private readonly labels: number[] = [];
  private transposed: Float32Array | undefined;

  constructor(
    readonly numClasses: number,
    readonly dim: number,
    readonly ignore = 255,
  ) {}

  get size(): number {
    return this.labels.length;
  }

  add(img: SegmentedImage): this {
    majority(img.labels, img.segments, img.count, this.numClasses, this.ignore).forEach((l, s) => {
      if (l < 0) return;
      this.labels.push(l);
      this.rows.push(img.embeddings.slice(s * this.dim, (s + 1) * this.dim));
    });
    this.transposed = undefined;
    return this;
  }

  /** The bank as [dim, M] so that queries [q, dim] · bank give similarities [q, M]. */
  private bankT(): Float32Array {
    const M = this.size;
    if (!this.transposed) {
      this.transposed = new Float32Array(this.dim * M);
      this.rows.forEach((r, m) => r.forEach((v, d) => (this.transposed![d * M + m] = v)));
    }
    return this.transposed;
  }

  /** A label per segment of each test image (class 0 when the bank is empty). */
  async classify(test: SegmentedImage[], k = 20, block = 256): Promise<Int32Array[]> {
    const { dim, numClasses } = this;
    const M = this.size;
    const queries = test.flatMap((t, i) => Array.from({ length: t.count }, (_, s) => [i, s] as const));
    const out = test.map((t) => new Int32Array(t.count));
    if (M === 0) return out;
    const bankT = this.bankT();
    for (let q0 = 0; q0 < queries.length; q0 += block) {
      const part = queries.slice(q0, q0 + block);
      const Q = new Float32Array(part.length * dim);
      part.forEach(([i, s], r) => Q.set(test[i].embeddings.subarray(s * dim, (s + 1) * dim), r * dim));
      const sims = (await matmul({ dtype: 'float32', shape: [part.length, dim], data: Q }, { dtype: 'float32', shape: [dim, M], data: bankT })).data;
      part.forEach(([i, s], r) => {
        const votes = new Float64Array(numClasses);
        for (const m of topK(sims.subarray(r * M, (r + 1) * M), k)) votes[this.labels[m]]++;
        let best = 0;
        for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
        out[i][s] = best;
      });
    }
    return out;
  }

  /** Classifies the test images' segments and adds their pixels to `cm` (pixels outside any segment count as class 0). */
  async score(test: SegmentedImage[], cm: ConfusionMatrix, k = 20, block = 256): Promise<ConfusionMatrix> {
    const labels = await this.classify(test, k, block);
    test.forEach((t, i) => cm.add(Int32Array.from(t.segments, (s) => (s < 0 ? 0 : labels[i][s])), t.labels));
    return cm;
  }
}

/** k-NN over whole sets of training and test images at once (small sets; see SegmentBank to stream). */
export async function knnEvaluate(train: SegmentedImage[], test: SegmentedImage[], options: { numClasses: number; k?: number; ignore?: number; dim: number; block?: number }): Promise<ConfusionMatrix> {
  const ignore = options.ignore ?? 255;
  const bank = new SegmentBank(options.numClasses, options.dim, ignore);
  for (const t of train) bank.add(t);
  return bank.score(test, new ConfusionMatrix(options.numClasses, ignore), options.k ?? 20, options.block ?? 256);
}
