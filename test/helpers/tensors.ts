// Deterministic test tensors and the error measure the native-op tests share.
import type { Tensor } from '../../src/tensor';

/** Values in [-0.5, 0.5) from a linear congruential stream: the same tensor for the same seed. */
export function random(shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) data[i] = (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5;
  return { dtype, shape, data } as Tensor;
}

/** max |a - b| / max |b|. */
export function relErr(a: Tensor, b: Tensor): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < b.data.length; i++) {
    e = Math.max(e, Math.abs(Number(a.data[i]) - Number(b.data[i])));
    m = Math.max(m, Math.abs(Number(b.data[i])));
  }
  return e / m;
}
