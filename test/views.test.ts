// Two-view augmentation keeps image, regions and CLIP features aligned through the recorded
// geometry; photometric augmentation leaves geometry unchanged. The loops tested here are the
// TypeScript reference (helpers/views-reference.ts) that the native renderer must equal bit for bit
// (views-native.test.ts).
import test from 'ava';
import { drawPhotometric, makeBatch, sampleGeometry, DEFAULT_VIEWS, type Sample } from '../src/data/views';
import { photometric, warpFeatures, warpRegions } from './helpers/views-reference';
import { CLIP_MEAN, CLIP_STD } from '../src/image/normalize';
import { makeRng } from '../src/rng';
import { cropResize } from '../src/image/resample';
import { randomImage } from './helpers/images';

// An image whose red channel encodes x and green encodes y; regions are 8-pixel columns; the
// "CLIP features" hold the x and y pixel coordinates of each 8×8 cell centre.
function pattern(): Sample {
  const W = 96;
  const data = new Uint8Array(W * W * 3);
  const regions = new Int32Array(W * W);
  for (let y = 0; y < W; y++) {
    for (let x = 0; x < W; x++) {
      data.set([Math.round((x * 255) / 95), Math.round((y * 255) / 95), 128], (y * W + x) * 3);
      regions[y * W + x] = Math.floor(x / 8);
    }
  }
  const fh = 12;
  const feat = new Float32Array(2 * fh * fh);
  for (let y = 0; y < fh; y++) {
    for (let x = 0; x < fh; x++) {
      feat[y * fh + x] = x * 8 + 4;
      feat[fh * fh + y * fh + x] = y * 8 + 4;
    }
  }
  return { image: { data, width: W, height: W }, regions, clip: { data: feat, E: 2, fh, fw: fh, cell: 8 } };
}

test('image, regions and features stay aligned through crops and flips', (t) => {
  const s = pattern();
  const o = { ...DEFAULT_VIEWS, size: 48, stride: 8 };
  const r = makeRng(3);
  for (let k = 0; k < 20; k++) {
    const g = sampleGeometry(96, 96, o, r);
    const img = cropResize(s.image, g.x0, g.y0, g.w, g.h, 48, 48, g.flip);
    const reg = warpRegions(s.regions, 96, 96, g, 48);
    const feat = warpFeatures(s.clip.data, 2, 12, 12, 8, g, 48, 6);
    for (let y = 2; y < 46; y += 5) {
      for (let x = 2; x < 46; x += 5) {
        const srcX = (img.data[(y * 48 + x) * 3] * 95) / 255;
        // The region of a view pixel is the column of the source x seen in the image (±1 px of interpolation).
        const col = reg[y * 48 + x];
        t.true(srcX >= col * 8 - 1.5 && srcX <= col * 8 + 8.5, `region ${col} vs x ${srcX.toFixed(1)} (flip ${g.flip})`);
      }
    }
    // Feature cells: the interpolated x/y coordinates match the image's decoded coordinates at the cell centre.
    for (let cy = 0; cy < 6; cy++) {
      for (let cx = 0; cx < 6; cx++) {
        const px = cx * 8 + 3.5;
        const py = cy * 8 + 3.5;
        const xi = Math.round(px);
        const yi = Math.round(py);
        const imgX = (img.data[(yi * 48 + xi) * 3] * 95) / 255;
        const imgY = (img.data[(yi * 48 + xi) * 3 + 1] * 95) / 255;
        const fx = feat[cy * 6 + cx];
        const fy = feat[36 + cy * 6 + cx];
        // Features are clamped at the outer cell centres (4 px from the border).
        if (imgX > 5 && imgX < 90) t.true(Math.abs(fx - imgX) < g.w / 48 + 1.5, `feature x ${fx.toFixed(1)} vs image ${imgX.toFixed(1)}`);
        if (imgY > 5 && imgY < 90) t.true(Math.abs(fy - imgY) < g.h / 48 + 1.5, `feature y ${fy.toFixed(1)} vs image ${imgY.toFixed(1)}`);
      }
    }
  }
});

test('colour jitter, grayscale and blur leave geometry unchanged', (t) => {
  const W = 32;
  const data = new Uint8Array(W * W * 3).fill(40);
  for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) data.set([220, 200, 60], (y * W + x) * 3);
  const img = { data, width: W, height: W };
  const r = makeRng(1);
  photometric(img, drawPhotometric({ ...DEFAULT_VIEWS, jitter: { ...DEFAULT_VIEWS.jitter, p: 1 }, grayscale: 1, blur: 0 }, r));
  // The bright square is still exactly where it was (contrast ordering preserved per pixel).
  const lum = (x: number, y: number) => data[(y * W + x) * 3];
  t.true(lum(16, 16) > lum(2, 2));
  t.is(lum(8, 8), lum(23, 23));
  t.is(lum(7, 8), lum(2, 2));
  t.is(data[(16 * W + 16) * 3], data[(16 * W + 16) * 3 + 1]);
});

test('batches come in the trainer layout', async (t) => {
  const s = pattern();
  const b = await makeBatch([s, s, s], { ...DEFAULT_VIEWS, size: 48, stride: 8 }, makeRng(2));
  t.deepEqual(b.images.shape, [6, 3, 48, 48]);
  t.deepEqual(b.regions.shape, [6, 48, 48]);
  t.deepEqual(b.ignore.shape, [6, 48, 48]);
  t.deepEqual(b.clip.shape, [6, 2, 6, 6]);
  const v = b.images.data[0] * CLIP_STD[0] + CLIP_MEAN[0];
  t.true(v >= -0.01 && v <= 1.01);
});

// Naive references written from the definitions, independent of the fast loops in src/.
test('blur is the 3×3 binomial kernel with edges repeated (naive reference)', (t) => {
  const W = 13;
  const H = 9;
  const img = randomImage(3, W, H);
  const want = new Uint8Array(img.data.length);
  const px = (x: number, y: number, c: number) => img.data[(Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))) * 3 + c];
  const k = [1, 2, 1];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) {
    let v = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) v += k[dy + 1] * k[dx + 1] * px(x + dx, y + dy, c);
    want[(y * W + x) * 3 + c] = Math.round(v / 16);
  }
  const got = { ...img, data: Uint8Array.from(img.data) };
  photometric(got, drawPhotometric({ ...DEFAULT_VIEWS, jitter: { ...DEFAULT_VIEWS.jitter, p: 0 }, grayscale: 0, blur: 1 }, makeRng(0)));
  t.deepEqual(got.data, want);
});

test('cropResize samples bilinearly at pixel centres, edges repeated, mirrored on flip (naive reference)', (t) => {
  const img = randomImage(4, 11, 7);
  const px = (x: number, y: number, c: number) => img.data[(y * img.width + x) * 3 + c];
  for (const [x0, y0, w, h, outW, outH, flip] of [[1.5, -2, 8, 9, 5, 6, false], [-3, 1, 14, 5, 9, 4, true], [0, 0, 11, 7, 11, 7, false]] as const) {
    const got = cropResize(img, x0, y0, w, h, outW, outH, flip);
    for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) {
      const srcX = flip ? outW - 1 - x : x;
      const fx = Math.min(img.width - 1, Math.max(0, x0 + ((srcX + 0.5) * w) / outW - 0.5));
      const fy = Math.min(img.height - 1, Math.max(0, y0 + ((y + 0.5) * h) / outH - 0.5));
      const [xa, ya] = [Math.floor(fx), Math.floor(fy)];
      const [xb, yb] = [Math.min(img.width - 1, xa + 1), Math.min(img.height - 1, ya + 1)];
      for (let c = 0; c < 3; c++) {
        const [tx, ty] = [fx - xa, fy - ya];
        const v = (px(xa, ya, c) * (1 - tx) + px(xb, ya, c) * tx) * (1 - ty) + (px(xa, yb, c) * (1 - tx) + px(xb, yb, c) * tx) * ty;
        t.true(Math.abs(got.data[(y * outW + x) * 3 + c] - v) <= 0.5 + 1e-9, `(${x}, ${y}, ${c}): ${got.data[(y * outW + x) * 3 + c]} vs ${v}`);
      }
    }
  }
});
