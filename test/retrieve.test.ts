// Segment retrieval on features with a known answer: two halves with orthogonal embeddings, class
// texts pointing at each half; the best hit per class is that half, with its box, mask and cosine.
import test from 'ava';
import { retrieveSegments } from '../src/eval/retrieve';
import type { RawImage } from '../src/image/load';
import { highlightCrop } from '../src/plot/contact-sheet';
import type { Tensor } from '../src/tensor';

const W = 16;
const H = 8;
const h = 4;
const w = 8;
const D = 4;

function halves(swap: boolean): Tensor<'float32'> {
  const data = new Float32Array(D * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[((x < w / 2) !== swap ? 0 : 1) * h * w + y * w + x] = 1;
  return { dtype: 'float32', shape: [1, D, h, w], data };
}

const image: RawImage = { width: W, height: H, channels: 3, data: new Uint8Array(W * H * 3).fill(200) } as RawImage;

test('each class retrieves the half of the image its text points at, best first', async (t) => {
  const text: Tensor<'float32'> = { dtype: 'float32', shape: [3, D], data: Float32Array.from([1, 0, 0, 0, 0, 2, 0, 0, 1, 1, 0, 0]) };
  // Image b has the halves swapped, so class 0's best hits are a's left half and b's right half.
  const src = { embed: async (f: string) => halves(f === 'b'), load: async () => image };
  const hits = await retrieveSegments(src, ['a', 'b'], text, { top: 2, grid: [1, 2] });
  t.is(hits.length, 3);
  const left = [0, 0, 8, 8];
  const right = [8, 0, 16, 8];
  for (const [c, boxFor] of [[0, { a: left, b: right }], [1, { a: right, b: left }]] as const) {
    t.deepEqual(hits[c].map((x) => x.image).sort(), ['a', 'b'], `class ${c} hits one segment of each image`);
    for (const x of hits[c]) {
      t.deepEqual(x.box, boxFor[x.image as 'a' | 'b']);
      t.true(Math.abs(x.score - 1) < 1e-5, 'cosine of identical directions (text normalised)');
      t.is(x.mask.length, 64);
      t.true(x.mask.every((v) => v === 1));
    }
  }
  for (const x of hits[2]) t.true(Math.abs(x.score - Math.SQRT1_2) < 1e-5, 'the diagonal class scores 1/√2 on either half');
  const one = await retrieveSegments(src, ['a', 'b'], text, { top: 1, grid: [1, 2] });
  t.is(one[0].length, 1);
});

test('highlightCrop keeps the segment, dims the rest and outlines the border', (t) => {
  const mask = new Uint8Array(64).fill(1);
  const crop = highlightCrop({ image, box: [0, 0, 8, 8], mask, caption: '' }, 0.25);
  // Box 8×8 plus a 2-px margin on the right (clipped at the image's left, top and bottom).
  t.deepEqual([crop.width, crop.height], [10, 8]);
  const px = (x: number, y: number) => Array.from(crop.data.subarray((y * crop.width + x) * 3, (y * crop.width + x) * 3 + 3));
  t.deepEqual(px(3, 3), [200, 200, 200]);
  t.deepEqual(px(9, 3), [70, 70, 70]);
  t.deepEqual(px(7, 3), [255, 210, 0]);
});
