// The pixel embedder's 3×3 convs through oneDNN's Winograd kernels (native/src/winograd_conv.h),
// held against LibTorch's conv2d (the direct algorithm) on the same inputs: outputs and both
// gradients, plain and dilated (space-to-batch, sizes that are not multiples of the dilation).
import * as fs from 'node:fs';
import test from 'ava';
import { native } from '../src/native';
import { versions } from '../src/runtime';
import { random, relErr } from './helpers/tensors';

const net = native().net;

/** oneDNN's Winograd kernels are for avx512_core: AVX-512 F, BW, VL and DQ. */
function cpuHasAvx512Core(): boolean {
  const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [];
  return ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.includes(f));
}

const status = versions().convolutions;
const winograd = status.startsWith('winograd');

test('the build uses Winograd exactly where oneDNN 2 is LibTorch\'s and the CPU has its kernels', (t) => {
  t.regex(status, /^(winograd \(oneDNN .+\)|off \(CLIPS4_WINOGRAD=0\)|unavailable \(.+\)|not built \(.+\))$/);
  if (process.env.CLIPS4_WINOGRAD === '0') return t.is(status, 'off (CLIPS4_WINOGRAD=0)');
  // The set-up installs libdnnl-dev beside Debian's LibTorch (which links the shared libdnnl.so.2),
  // so a system LibTorch build must have the path; the CPU decides whether oneDNN has kernels for it.
  if (versions().torchSource.startsWith('system') && fs.existsSync('/usr/include/oneapi/dnnl/dnnl.hpp')) {
    t.false(status.startsWith('not built'), status);
    t.is(winograd, cpuHasAvx512Core(), `${status}; avx512_core: ${cpuHasAvx512Core()}`);
  }
});

// [N, C, O, H, W, dilation]: the world network's head (384 → 64 at 8²), ResNet layers at output
// stride 8 (dilations 2 and 4 over sizes that are and are not multiples), batch 1 and 2.
const SHAPES: [number, number, number, number, number, number][] = [
  [2, 16, 24, 13, 17, 1],
  [1, 384, 64, 8, 8, 1],
  [1, 64, 32, 42, 42, 2],
  [2, 32, 16, 21, 23, 2],
  [1, 48, 40, 11, 11, 4],
  [2, 32, 16, 21, 23, 4],
];

for (const [N, C, O, H, W, d] of SHAPES) {
  test(`conv ${N}×${C}×${H}×${W} → ${O}, dilation ${d}: output and gradients match conv2d`, async (t) => {
    const x = random([N, C, H, W], 1), w = random([O, C, 3, 3], 2), gy = random([N, O, H, W], 3);
    const fast = await net.conv3x3(x, w, gy, { dilation: d, winograd: true });
    const direct = await net.conv3x3(x, w, gy, { dilation: d, winograd: false });
    for (const k of ['y', 'gx', 'gw'] as const) {
      t.deepEqual(fast[k].shape, direct[k].shape);
      const e = relErr(fast[k], direct[k]);
      // Measured ≤ 3.6e-6: float32 rounding of the transforms; a wrong tile, grid or gradient is O(1).
      t.true(e <= 1e-5, `${k}: relative error ${e.toExponential(2)}`);
      // Where the Winograd path runs its rounding differs from the direct algorithm's somewhere.
      if (winograd) t.true(e > 0, `${k}: identical to conv2d, so the Winograd path did not run (${status})`);
    }
  });
}

test('Winograd convs are deterministic (resumed training repeats itself bit for bit)', async (t) => {
  const x = random([2, 64, 21, 21], 4), w = random([32, 64, 3, 3], 5), gy = random([2, 32, 21, 21], 6);
  for (const d of [1, 2]) {
    const a = await net.conv3x3(x, w, gy, { dilation: d, winograd: true });
    const b = await net.conv3x3(x, w, gy, { dilation: d, winograd: true });
    for (const k of ['y', 'gx', 'gw'] as const) t.deepEqual(a[k].data, b[k].data, `${k}, dilation ${d}`);
  }
});

test('float64 convs stay with conv2d, bit for bit', async (t) => {
  const x = random([1, 8, 9, 9], 7, 'float64'), w = random([8, 8, 3, 3], 8, 'float64'), gy = random([1, 8, 9, 9], 9, 'float64');
  const a = await net.conv3x3(x, w, gy, { dilation: 1, winograd: true });
  const b = await net.conv3x3(x, w, gy, { dilation: 1, winograd: false });
  for (const k of ['y', 'gx', 'gw'] as const) t.deepEqual(a[k].data, b[k].data, k);
});

test('conv3x3 names a wrong shape', async (t) => {
  const x = random([1, 8, 9, 9], 1), w = random([8, 4, 3, 3], 2), gy = random([1, 8, 9, 9], 3);
  t.throws(() => net.conv3x3(x, w, gy, { dilation: 1, winograd: true }), { message: /Expected x \[N,C,H,W\], w \[O,C,3,3\]/ });
});
