// The PSPNet head's bottleneck conv split into x's conv and one product for the pooled maps
// (native/src/pyramid_conv.h), held against LibTorch's own ops on the concatenated maps
// (upsample_bilinear2d, cat, conv2d): the output and the gradients of x, w and every pooled map.
import test from 'ava';
import { native } from '../src/native';
import { random, relErr } from './helpers/tensors';

const net = native().net;

// [N, C, O, H, W, pooled maps' (channels, bin)]: the world network's head (128 + 4 × 64 → 64 at 8²),
// sizes that are not multiples of the bins, batch 2, a map smaller than a bin's count, the paper's bins.
const CASES: [number, number, number, number, number, [number, number][]][] = [
  [1, 128, 64, 8, 8, [[64, 1], [64, 2], [64, 3], [64, 6]]],
  [2, 16, 12, 13, 17, [[8, 1], [8, 2], [8, 3], [8, 6]]],
  [1, 24, 8, 5, 4, [[16, 3], [16, 6]]],
  [2, 64, 32, 21, 21, [[32, 1], [32, 2], [32, 3], [32, 6]]],
];

for (const [N, C, O, H, W, maps] of CASES) {
  const name = `${N}×${C}×${H}×${W} + ${maps.map(([c, b]) => `${c}@${b}²`).join(' + ')} → ${O}`;
  test(`pyramid conv ${name}: split output and gradients match the concatenated conv`, async (t) => {
    const channels = C + maps.reduce((a, [c]) => a + c, 0);
    const x = random([N, C, H, W], 1), w = random([O, channels, 3, 3], 2), gy = random([N, O, H, W], 3);
    const pooled = maps.map(([c, b], i) => random([N, c, b, b], 10 + i));
    for (const winograd of [false, true]) {
      const split = await net.pyramidConv3x3(x, pooled, w, gy, { split: true, winograd });
      const whole = await net.pyramidConv3x3(x, pooled, w, gy, { split: false, winograd: false });
      for (const k of ['y', 'gx', 'gw', ...maps.map((_, i) => `gp${i}`)]) {
        t.deepEqual(split[k].shape, whole[k].shape, k);
        const e = relErr(split[k], whole[k]);
        // float32 rounding of another summation order (and of the Winograd transforms for x's part);
        // a wrong tap, shift, bin or interpolation weight is O(1).
        t.true(e <= 1e-5, `${k} (winograd ${winograd}): relative error ${e.toExponential(2)}`);
      }
      // The split does not build the concatenation: where x's conv is the same, y still differs by rounding.
      if (!winograd) t.true(relErr(split.y, whole.y) > 0, 'identical to the concatenated conv: the split did not run');
    }
  });
}

test('pyramidConv3x3 names a wrong shape', async (t) => {
  const x = random([1, 8, 9, 9], 1), gy = random([1, 4, 9, 9], 3);
  const pooled = [random([1, 4, 2, 2], 4)];
  t.throws(() => net.pyramidConv3x3(x, pooled, random([4, 8, 3, 3], 2), gy, { split: true, winograd: true }), { message: /Expected x \[N,C,H,W\] and w \[O,C\+ΣC_i,3,3\]/ });
  t.throws(() => net.pyramidConv3x3(x, [random([2, 4, 2, 2], 5)], random([4, 12, 3, 3], 2), gy, { split: true, winograd: true }), { message: /Expected pooled\[i\] \[N,C_i,b,b\]/ });
});
