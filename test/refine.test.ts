// MaskCLIP's inference refinements in the dense classifier, checked against refine.safetensors: prompt
// denoising and key smoothing as MaskCLIP's head computes them, for a ViT and a ResNet CLIP, written
// with PyTorch from the original code's operations by test/fixtures/tools/refine-reference.py.
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { Segmenter } from '../src/infer/segmenter';
import { BpeTokenizer } from '../src/clip/tokenizer';
import { native } from '../src/native';
import * as safetensors from '../src/safetensors';
import type { Tensor } from '../src/tensor';
import { fixture } from './helpers/fixtures';
import { relErr } from './helpers/tensors';

// The reference's cases, as (key smoothing, denoising) thresholds; its labels are stored per case.
const CASES: Array<[number, number]> = [[0, 0], [1.01, 0], [0.9, 0], [0.5, 0], [0, 0.5], [0.5, 0.5]];

const load = (model: string) => Clip.load(fixture('parity', `${model}-tiny.safetensors`), { vocab: BpeTokenizer.fromBpeFile(fixture('parity', 'bpe_simple_vocab_16e6.txt.gz')) });

for (const model of ['vit', 'rn']) {
  test(`${model}: keys, and the labels after denoising and key smoothing, match MaskCLIP's head`, async (t) => {
    const ref = await safetensors.read(fixture('parity', 'refine.safetensors'));
    const clip = await load(model);
    const image = { ...ref.image, dtype: 'float32' } as Tensor<'float32'>;
    const dense = await clip.denseFeatures(image);
    const keys = await clip.denseKeys(image);
    t.deepEqual(keys.shape, ref[`${model}_keys`].shape);
    t.true(relErr(dense, ref[`${model}_dense`]) <= 1e-4, 'dense features');
    t.true(relErr(keys, ref[`${model}_keys`]) <= 1e-4, 'keys');
    const [N, , H, W] = image.shape;
    const distinct = new Set<string>();
    for (const [smooth, denoise] of CASES) {
      const tag = `${model}_ks${smooth.toFixed(smooth === 1.01 ? 2 : 1)}_pd${denoise.toFixed(1)}`;
      const expected = ref[`${tag}_labels`].data as Uint8Array;
      const r = await native().segment.classify(dense, ref[`${model}_classifier`], { height: H, width: W, logitScale: 100, scores: true, device: 'cpu', keys, smoothThreshold: smooth, denoiseThreshold: denoise });
      const labels = r.labels.data as Int32Array;
      t.is(labels.length, N * H * W);
      let same = 0;
      for (let i = 0; i < labels.length; i++) if (labels[i] === expected[i]) same++;
      // Bilinear resizing leaves pixels whose two best classes tie to a rounding: all but 1 in 1,000 agree.
      t.true(same >= 0.999 * labels.length, `${tag}: ${labels.length - same} of ${labels.length} labels differ`);
      distinct.add(Array.from(labels.subarray(0, H * W)).join());
      // Scores are a distribution over the classes whose best is the label.
      const C = ref[`${model}_classifier`].shape[0];
      const s = r.scores!.data as Float32Array;
      const plane = H * W;
      for (let n = 0; n < N; n++) {
        for (let p = 0; p < plane; p += 97) {
          let sum = 0;
          let best = 0;
          for (let c = 0; c < C; c++) {
            const v = s[(n * C + c) * plane + p];
            t.true(v >= 0);
            sum += v;
            if (v > s[(n * C + best) * plane + p]) best = c;
          }
          t.true(Math.abs(sum - 1) < 1e-4, `${tag}: scores sum to ${sum}`);
          t.is(best, labels[n * plane + p], `${tag}: best score at pixel ${p} of image ${n}`);
        }
      }
    }
    // The refinements change the labels: a check that could not tell them apart would pass anything.
    t.true(distinct.size >= 3, `${model}: the cases gave ${distinct.size} different label maps`);
  });
}

test('the Segmenter smooths with a ResNet CLIP, and refuses key smoothing with a sliding window', async (t) => {
  const image = fixture('real', 'VOCdevkit', 'VOC2012', 'JPEGImages', '2007_000063.jpg');
  const common = { clip: fixture('parity', 'rn-tiny.safetensors'), vocab: fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'), size: 128 };
  const seg = await Segmenter.load(common);
  const classes = ['cat', 'dog', 'sky', 'grass', 'road', 'person'];
  const plain = await seg.segment(image, { classes, scores: true });
  const smoothed = await seg.segment(image, { classes, keySmoothing: 1.01, scores: true });
  t.is(smoothed.labels.length, plain.labels.length);
  // A random CLIP gives this photograph one label, smoothed or not; the keys show in the scores.
  const gap = smoothed.scores!.reduce((m, v, i) => Math.max(m, Math.abs(v - plain.scores![i])), 0);
  t.true(gap > 1e-3, `smoothing every position left the scores within ${gap}`);
  const windowed = await Segmenter.load({ ...common, window: 64, stride: 32 });
  const e = await t.throwsAsync(windowed.segment(image, { classes, keySmoothing: 0.5 }));
  t.regex(e!.message, /no key smoothing .*no sliding window\) for options\.keySmoothing but received number 0\.5/);
});
