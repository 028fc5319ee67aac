// MaskCLIP's refinements in the dense classifier, checked against a computation written here:
// prompt denoising (classes whose image-wide max probability is low are dropped) and key smoothing
// (p ← W p, W the row-normalised non-negative cosine similarity of the last block's keys).
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { BpeTokenizer } from '../src/clip/tokenizer';
import { native } from '../src/native';
import * as safetensors from '../src/safetensors';
import type { Tensor } from '../src/tensor';
import { fixture } from './helpers/fixtures';

function reference(feat: Tensor, cls: Tensor, keys: Tensor | undefined, smooth: number, denoise: number): number[] {
  const [, E, h, w] = feat.shape;
  const C = cls.shape[0];
  const hw = h * w;
  const norm = (v: number[]) => {
    const n = Math.hypot(...v) || 1e-12;
    return v.map((x) => x / n);
  };
  const f = Array.from({ length: hw }, (_, p) => norm(Array.from({ length: E }, (_, e) => (feat.data as Float32Array)[e * hw + p])));
  const c = Array.from({ length: C }, (_, k) => norm(Array.from({ length: E }, (_, e) => (cls.data as Float32Array)[k * E + e])));
  let logits = f.map((fp) => c.map((ck) => 100 * ck.reduce((a, x, e) => a + x * fp[e], 0)));
  const softmax = (l: number[]) => {
    const m = Math.max(...l);
    const ex = l.map((x) => Math.exp(x - m));
    const z = ex.reduce((a, b) => a + b, 0);
    return ex.map((x) => x / z);
  };
  if (denoise > 0) {
    const p = logits.map(softmax);
    const keep = Array.from({ length: C }, (_, k) => Math.max(...p.map((pp) => pp[k])) >= denoise);
    logits = logits.map((l) => l.map((x, k) => (keep[k] ? x : -100)));
  }
  let p = logits.map(softmax);
  if (keys) {
    const D = keys.shape[1];
    const kk = Array.from({ length: hw }, (_, q) => norm(Array.from({ length: D }, (_, d) => (keys.data as Float32Array)[d * hw + q])));
    const W = kk.map((a) => kk.map((b) => Math.max(0, a.reduce((s, x, d) => s + x * b[d], 0))));
    const Wn = W.map((row) => row.map((x) => x / row.reduce((s, y) => s + y, 0)));
    p = p.map((pi, i) => (Math.max(...pi) < smooth ? Array.from({ length: C }, (_, k) => Wn[i].reduce((s, wij, j) => s + wij * p[j][k], 0)) : pi));
  }
  return p.map((pi) => pi.indexOf(Math.max(...pi)));
}

test('prompt denoising and key smoothing match the reference computation', async (t) => {
  const clip = await Clip.load(fixture('parity', 'vit-tiny.safetensors'), { vocab: BpeTokenizer.fromBpeFile(fixture('parity', 'bpe_simple_vocab_16e6.txt.gz')) });
  const io = await safetensors.read(fixture('parity', 'vit-tiny.io.safetensors'));
  const img = { ...io.image_alt, dtype: 'float32' } as Tensor<'float32'>;
  const feat = await clip.denseFeatures(img);
  const keys = await clip.denseKeys(img);
  t.deepEqual(keys.shape, [1, 128, 6, 6]);
  const cls = await clip.textClassifier(['cat', 'moon', 'potted plant', 'grass', 'sky'], { templates: ['a photo of a {}.'] });
  for (const [smooth, denoise] of [[0, 0], [1.01, 0], [0.5, 0], [0, 0.5], [1.01, 0.3]] as const) {
    const r = await native().segment.classify(feat, cls, { height: 6, width: 6, logitScale: 100, scores: false, device: 'cpu', keys, smoothThreshold: smooth, denoiseThreshold: denoise });
    t.deepEqual(Array.from(r.labels.data as Int32Array), reference(feat, cls, smooth > 0 ? keys : undefined, smooth, denoise), `smooth ${smooth}, denoise ${denoise}`);
  }
});
