// The backbone's training-mode batch norm on the CPU (native/src/batch_norm_cpu.h) held against
// LibTorch's batch_norm on the same inputs: output, running statistics and the three gradients,
// at the world's stem size and at sizes whose rows are not multiples of the kernel's 16 lanes,
// on maps whose mean is far from zero (where one-pass statistics would lose digits).
import test from 'ava';
import { native } from '../src/native';
import type { Tensor } from '../src/tensor';
import { random, relErr } from './helpers/tensors';

const net = native().net;

function affine(t: Tensor, scale: number, shift: number): Tensor {
  return { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v * scale + shift) } as Tensor;
}

for (const shape of [[16, 16, 32, 32], [3, 5, 7, 9], [5, 4, 1, 1], [1, 3, 17, 1]]) {
  test(`batch norm ${shape.join('×')}: the CPU kernel equals LibTorch's (output, running statistics, gradients)`, async (t) => {
    const C = shape[1];
    const x = affine(random(shape, 1), 6, 40);
    const weight = affine(random([C], 2), 2, 1);
    const bias = random([C], 3);
    const runningMean = random([C], 4);
    const runningVar = affine(random([C], 5), 1, 1);
    const gy = random(shape, 6);
    const run = (clips4: boolean) => net.batchNorm(x, weight, bias, runningMean, runningVar, gy, { momentum: 0.1, eps: 1e-5, clips4 });
    const [ours, ref] = [await run(true), await run(false)];
    for (const [key, bound] of [['y', 1e-5], ['gx', 1e-4], ['gw', 1e-4], ['gb', 1e-5], ['runningMean', 1e-6], ['runningVar', 1e-5]] as const) {
      const e = relErr(ours[key], ref[key]);
      t.true(e <= bound, `${key}: relative error ${e.toExponential(1)} > ${bound}`);
    }
  });
}

test('batch norm: the CPU kernel names what it does not take', async (t) => {
  const x = random([2, 3, 4, 4], 1, 'float64');
  const c = random([3], 2, 'float64');
  await t.throwsAsync(async () => net.batchNorm(x, c, c, c, c, x, { momentum: 0.1, eps: 1e-5, clips4: true }), { message: /Expected float32 tensors with more than one value per channel/ });
});
