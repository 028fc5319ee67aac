// Class-mean embeddings against a hand computation: cells take the label under their centre, each
// cell's embedding is normalised before averaging, ignore and out-of-range labels are skipped.
import test from 'ava';
import { ClassMeans } from '../src/eval/class-means';
import type { Tensor } from '../src/tensor';

test('ClassMeans averages normalised cell embeddings per class', (t) => {
  // Two images in a batch, D = 2, 1×2 cells each.
  const e: Tensor<'float32'> = { dtype: 'float32', shape: [2, 2, 1, 2], data: Float32Array.from([3, 0, 4, 1, /* image 1 */ 0, 5, 2, 0]) };
  // Image 0 cells: (3,4) and (0,1); image 1 cells: (0,2) and (5,0).
  const acc = new ClassMeans(3);
  acc.add(e, 0, { width: 4, height: 2, data: [0, 0, 1, 1, 0, 0, 1, 1] });
  acc.add(e, 1, { width: 2, height: 1, data: [1, 255] });
  t.deepEqual(acc.present(), [0, 1]);
  const m = acc.means();
  // Class 0: (0.6, 0.8). Class 1: (0, 1) + (0, 1) → (0, 1). Class 2 never seen.
  t.true(Math.abs(m[0][0] - 0.6) < 1e-6 && Math.abs(m[0][1] - 0.8) < 1e-6);
  t.true(Math.abs(m[1][0]) < 1e-6 && Math.abs(m[1][1] - 1) < 1e-6);
  t.deepEqual(m[2], [0, 0]);
});
