// k-NN evaluation throughput: test segments labelled per second by knnEvaluate (native matmul in
// blocks + top-k selection) against a plain float loop with a full sort per segment (the previous
// implementation), at the paper's 512-d embeddings, 36 segments per image, 20 neighbours.
import { knnEvaluate, type SegmentedImage } from '../../src/eval/knn.ts';
import type { BenchResult } from './sgemm.ts';

const D = 512;
const S = 36;

function images(n: number, seed: number): SegmentedImage[] {
  let s = seed;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => {
    const embeddings = Float32Array.from({ length: S * D }, () => r() - 0.5);
    const segments = Int32Array.from({ length: 64 * 64 }, (_, p) => p % S);
    const labels = Uint8Array.from(segments, (x) => x % 21);
    return { segments, embeddings, count: S, labels };
  });
}

function naive(train: SegmentedImage[], test: SegmentedImage[], k: number): number {
  const bank = train.flatMap((t) => Array.from({ length: t.count }, (_, s) => t.embeddings.subarray(s * D, (s + 1) * D)));
  let checksum = 0;
  for (const t of test) {
    for (let s = 0; s < t.count; s++) {
      const sims = bank.map((b) => {
        let v = 0;
        for (let d = 0; d < D; d++) v += b[d] * t.embeddings[s * D + d];
        return v;
      });
      checksum += Array.from(sims.keys()).sort((a, b) => sims[b] - sims[a]).slice(0, k)[0];
    }
  }
  return checksum;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const train = images(100, 1);
  const test = images(20, 2);
  const segs = test.length * S;
  let t0 = performance.now();
  naive(train, test, 20);
  const before = segs / ((performance.now() - t0) / 1000);
  await knnEvaluate(train, test.slice(0, 1), { numClasses: 21, dim: D });
  t0 = performance.now();
  await knnEvaluate(train, test, { numClasses: 21, dim: D });
  const after = segs / ((performance.now() - t0) / 1000);
  emit({ name: 'knn.loop-sort.3600bank', metric: 'segments/s', value: before, unit: 'segments/s' });
  emit({ name: 'knn.matmul-topk.3600bank', metric: 'segments/s', value: after, unit: 'segments/s', baseline: 'knn.loop-sort.3600bank', ratio: after / before });
}
