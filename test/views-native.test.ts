// The native view renderer (native/src/views_render.cc) against the TypeScript reference loops
// (helpers/views-reference.ts, themselves checked against naive definitions in views.test.ts):
// equal bit for bit, so moving the views to C++ changed no batch and no trained number.
import test from 'ava';
import { drawViews, makeBatch, DEFAULT_VIEWS, VIEW_PARAMS, type Sample, type ViewGeometry, type ViewOptions } from '../src/data/views';
import { native } from '../src/native';
import { makeRng, type Rng } from '../src/rng';
import { tensor, type Tensor } from '../src/tensor';
import { referenceBatch } from './helpers/views-reference';

/** Samples of random sizes and aspects (portrait and landscape, smaller and larger than the view). */
function randomSamples(r: Rng, B: number, E: number, cellY: boolean): Sample[] {
  return Array.from({ length: B }, () => {
    const W = 9 + r.int(200);
    const H = 9 + r.int(200);
    const fh = 1 + r.int(14);
    const fw = 1 + r.int(14);
    const image = { width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, () => r.int(256)) };
    const clip = { data: Float32Array.from({ length: E * fh * fw }, () => r.range(-3, 3)), E, fh, fw, cell: W / fw, ...(cellY ? { cellY: H / fh } : {}) };
    return { image, regions: Int32Array.from({ length: W * H }, () => r.int(50)), clip };
  });
}

test('native views equal the TypeScript reference bit for bit (sizes, aspects, strides, every augmentation on and off)', async (t) => {
  for (let seed = 0; seed < 40; seed++) {
    const r = makeRng(500 + seed);
    const stride = [4, 8, 16][r.int(3)];
    // Probabilities 0, 1 or in between, so that each branch is taken alone and together.
    const p = () => [0, 1, r.range(0, 1)][r.int(3)];
    const o: ViewOptions = { ...DEFAULT_VIEWS, size: stride * (1 + r.int(10)), stride, scale: [0.2, 1], flip: r.chance(0.8), jitter: { ...DEFAULT_VIEWS.jitter, p: p() }, grayscale: p(), blur: p() };
    const samples = randomSamples(r, 1 + r.int(5), 1 + r.int(6), seed % 2 === 1);
    const geometry: ViewGeometry[] = [];
    const got = await makeBatch(samples, o, makeRng(seed), geometry);
    const params = drawViews(samples, o, makeRng(seed));
    const want = referenceBatch(samples, params, o);
    for (const k of ['images', 'regions', 'ignore', 'clip'] as const) {
      t.deepEqual(got[k].shape, want[k].shape, `${k} shape, seed ${seed}`);
      // Buffer equality: every bit, -0 and all (deepEqual on typed arrays compares values).
      t.true(Buffer.from(got[k].data.buffer, got[k].data.byteOffset, got[k].data.byteLength).equals(Buffer.from(want[k].data.buffer, want[k].data.byteOffset, want[k].data.byteLength)), `${k}, seed ${seed}`);
    }
    // The recorded geometry is what was rendered.
    const P = VIEW_PARAMS.length;
    geometry.forEach((g, v) => t.deepEqual([g.x0, g.y0, g.w, g.h, g.flip ? 1 : 0], Array.from(params.subarray(v * P + 1, v * P + 6))));
  }
});

test('the native renderer rejects inputs that would read out of bounds, with a clear error', async (t) => {
  const r = makeRng(1);
  const [s] = randomSamples(r, 1, 2, false);
  const source = { image: tensor('uint8', [s.image.height, s.image.width, 3], s.image.data), regions: tensor('int32', [s.image.height, s.image.width], s.regions), clip: tensor('float32', [2, s.clip.fh, s.clip.fw], s.clip.data) };
  const params = drawViews([s], DEFAULT_VIEWS, makeRng(2));
  const options = { size: 16, cells: 2, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const ok = await native().views.render([source], tensor('float64', [2, VIEW_PARAMS.length], params), options);
  t.deepEqual(ok.images.shape, [2, 3, 16, 16]);
  const badSample = Float64Array.from(params);
  badSample[0] = 1; // only sample 0 exists
  t.throws(() => native().views.render([source], tensor('float64', [2, VIEW_PARAMS.length], badSample), options), { message: /sample index in \[0, 1\) for params\[0\]/ });
  const shortRegions = { ...source, regions: tensor('int32', [1, s.regions.length], s.regions) };
  t.throws(() => native().views.render([shortRegions], tensor('float64', [2, VIEW_PARAMS.length], params), options), { message: /int32 \[H,W\] regions of the image's size for sources\[0\]\.regions/ });
  t.throws(() => native().views.render([source], tensor('float32', [2, VIEW_PARAMS.length], Float32Array.from(params)) as unknown as Tensor<'float64'>, options), { message: /float64 \[views, 16\] for params/ });
  t.throws(() => native().views.render([source], tensor('float64', [2, VIEW_PARAMS.length], params), { ...options, mean: [0.5] }), { message: /array of 3 numbers for mean/ });
});
