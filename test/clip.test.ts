// CLIP against the reference outputs of OpenAI's code (fixtures), through every weight layout.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Clip, promptTemplates, safetensors } from '../src/index';
import { BpeTokenizer, tokenize, trimPadding, WordTokenizer } from '../src/clip/tokenizer';
import { native } from '../src/native';
import { cropImage, type Tensor } from '../src/tensor';
import { DENSE_TEST_CONFIG, denseTestInput } from './helpers/clip-features';
import { fixture } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const dir = tmpDir('clips4-clip-');

function relErr(got: Tensor, want: Tensor): number {
  let max = 0;
  let err = 0;
  const a = got.data as Float32Array;
  const b = want.data as Float32Array;
  for (let i = 0; i < b.length; i++) {
    max = Math.max(max, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / max;
}

const bpe = () => BpeTokenizer.fromBpeFile(fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'));

async function checkAgainstReference(t: import('ava').ExecutionContext, clip: Clip, io: Record<string, Tensor>, meta: Record<string, string>, label: string, withClassifier = true) {
  const close = (name: string, got: Tensor, want: Tensor) => {
    t.deepEqual(got.shape, want.shape, `${label} ${name} shape`);
    const e = relErr(got, want);
    t.true(e <= 1e-4, `${label} ${name}: relative error ${e.toExponential(2)}`);
  };
  close('image_embed', await clip.encodeImage(io.image as Tensor<'float32'>), io.image_embed);
  close('text_embed', await clip.encodeText(io.tokens), io.text_embed);
  close('dense', await clip.denseFeatures(io.image as Tensor<'float32'>), io.dense);
  close('dense_alt', await clip.denseFeatures(io.image_alt as Tensor<'float32'>), io.dense_alt);
  if (withClassifier) close('classifier', await clip.textClassifier(JSON.parse(meta.classifier_classes)), io.classifier);
}

for (const model of ['vit-tiny', 'rn-tiny']) {
  test(`${model}: embeddings, dense features and the 85-template classifier match OpenAI's code`, async (t) => {
    const file = fixture('parity', `${model}.safetensors`);
    const io = await safetensors.read(fixture('parity', `${model}.io.safetensors`));
    const meta = await safetensors.readMetadata(fixture('parity', `${model}.io.safetensors`));
    const clip = await Clip.load(file, { vocab: bpe() });
    t.is(clip.info.kind, model.startsWith('vit') ? 'vit' : 'resnet');
    t.is(clip.info.embedDim, 32);
    await checkAgainstReference(t, clip, io, meta, model);
    // Cached: the same promise for the same (classes, templates).
    t.is(clip.textClassifier(['cat']), clip.textClassifier(['cat']));
  });
}

// OpenAI → Hugging Face key layout, written independently of src/clip/hf.ts.
function toHuggingFace(sd: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const T = (x: Tensor): Tensor => {
    const [r, c] = x.shape;
    const d = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) d[j * r + i] = (x.data as Float32Array)[i * c + j];
    return { dtype: 'float32', shape: [c, r], data: d };
  };
  const rows = (x: Tensor, k: number): Tensor => {
    const n = x.shape[0] / 3;
    const per = x.data.length / 3;
    return { dtype: 'float32', shape: [n, ...x.shape.slice(1)], data: (x.data as Float32Array).slice(k * per, (k + 1) * per) };
  };
  for (const [k, v] of Object.entries(sd)) {
    let m: RegExpMatchArray | null;
    if ((m = k.match(/^(visual\.)?transformer\.resblocks\.(\d+)\.(.*)$/))) {
      const base = `${m[1] ? 'vision_model' : 'text_model'}.encoder.layers.${m[2]}`;
      const rest = m[3];
      if (rest === 'attn.in_proj_weight' || rest === 'attn.in_proj_bias') {
        const s = rest.endsWith('weight') ? 'weight' : 'bias';
        ['q', 'k', 'v'].forEach((p, i) => (out[`${base}.self_attn.${p}_proj.${s}`] = rows(v, i)));
      } else {
        out[`${base}.${rest.replace('attn.out_proj', 'self_attn.out_proj').replace('ln_1', 'layer_norm1').replace('ln_2', 'layer_norm2').replace('mlp.c_fc', 'mlp.fc1').replace('mlp.c_proj', 'mlp.fc2')}`] = v;
      }
      continue;
    }
    const map: Record<string, string> = {
      'visual.conv1.weight': 'vision_model.embeddings.patch_embedding.weight',
      'visual.class_embedding': 'vision_model.embeddings.class_embedding',
      'visual.positional_embedding': 'vision_model.embeddings.position_embedding.weight',
      'visual.ln_pre.weight': 'vision_model.pre_layrnorm.weight',
      'visual.ln_pre.bias': 'vision_model.pre_layrnorm.bias',
      'visual.ln_post.weight': 'vision_model.post_layernorm.weight',
      'visual.ln_post.bias': 'vision_model.post_layernorm.bias',
      'ln_final.weight': 'text_model.final_layer_norm.weight',
      'ln_final.bias': 'text_model.final_layer_norm.bias',
      'token_embedding.weight': 'text_model.embeddings.token_embedding.weight',
      positional_embedding: 'text_model.embeddings.position_embedding.weight',
      logit_scale: 'logit_scale',
    };
    if (k === 'visual.proj') out['visual_projection.weight'] = T(v);
    else if (k === 'text_projection') out['text_projection.weight'] = T(v);
    else out[map[k]] = v;
  }
  return out;
}

test('vit-tiny through the Hugging Face key layout and through a TorchScript archive', async (t) => {
  const sd = await safetensors.read(fixture('parity', 'vit-tiny.safetensors'));
  const io = await safetensors.read(fixture('parity', 'vit-tiny.io.safetensors'));
  const meta = await safetensors.readMetadata(fixture('parity', 'vit-tiny.io.safetensors'));
  const hfFile = path.join(dir, 'hf.safetensors');
  await safetensors.write(hfFile, toHuggingFace(sd));
  await checkAgainstReference(t, await Clip.load(hfFile, { vocab: bpe() }), io, meta, 'hf', false);
  const ptFile = path.join(dir, 'ViT-tiny.pt');
  await native().clip.writeTorchScript(ptFile, sd);
  await checkAgainstReference(t, await Clip.load(ptFile, { vocab: bpe() }), io, meta, 'torchscript', false);
});

test('bad weights name the key or the file', async (t) => {
  const sd = await safetensors.read(fixture('parity', 'vit-tiny.safetensors'));
  const missing = { ...sd };
  delete missing['visual.ln_post.weight'];
  const f1 = path.join(dir, 'missing.safetensors');
  await safetensors.write(f1, missing);
  await t.throwsAsync(Clip.load(f1), { code: 'ERR_CLIPS4_WEIGHTS', message: /missing 'visual\.ln_post\.weight'/ });
  const wrong = { ...sd, 'visual.ln_pre.bias': { dtype: 'float32', shape: [5], data: new Float32Array(5) } as Tensor };
  const f2 = path.join(dir, 'wrong.safetensors');
  await safetensors.write(f2, wrong);
  await t.throwsAsync(Clip.load(f2), { code: 'ERR_CLIPS4_WEIGHTS', message: /tensor 'visual\.ln_pre\.bias' has shape \[5\] but the CLIP architecture inferred from them needs \[128\]/ });
  // float64: safetensors reads it (float64 training checkpoints), CLIP refuses it.
  const json = Buffer.from(JSON.stringify({ 'visual.proj': { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const f3 = path.join(dir, 'f64.safetensors');
  fs.writeFileSync(f3, Buffer.concat([len, json, Buffer.alloc(8)]));
  await t.throwsAsync(Clip.load(f3), { message: new RegExp(`${f3}: tensor 'visual\\.proj' has dtype float64; CLIP weights must be float32, float16 or bfloat16`) });
  const f4 = path.join(dir, 'trunc.safetensors');
  fs.writeFileSync(f4, fs.readFileSync(fixture('parity', 'vit-tiny.safetensors')).subarray(0, 5000));
  await t.throwsAsync(Clip.load(f4), { code: 'ERR_CLIPS4_FORMAT', message: new RegExp(`^Invalid safetensors file ${f4}:`) });
  await t.throwsAsync(Clip.load(path.join(dir, 'nope.safetensors')), { message: /no such file/ });
});

test('all 177 tokenizer cases are exact', (t) => {
  const cases = JSON.parse(fs.readFileSync(fixture('parity', 'tokenizer.json'), 'utf8')) as { context_length: number; cases: { text: string; ids: number[] }[] };
  const tok = bpe();
  t.is(tok.vocabSize, 49408);
  let exact = 0;
  for (const c of cases.cases) {
    const ids = Array.from(tokenize([c.text], { vocab: tok, contextLength: cases.context_length }).data, Number);
    if (JSON.stringify(ids) === JSON.stringify(c.ids)) exact++;
    else t.fail(`'${c.text.slice(0, 60)}'`);
  }
  t.is(exact, 177);
});

test('word tokenizer: closed vocabulary, unknown words, save/load, padding', (t) => {
  const w = WordTokenizer.fromTexts(['A cat on the grass!', 'the moon']);
  t.deepEqual(w.words, ['a', 'cat', 'grass', 'moon', 'on', 'the']);
  const ids = tokenize(['the cat sat'], { vocab: w, contextLength: 6 });
  t.deepEqual(Array.from(ids.data, Number), [1, 9, 5, 3, 2, 0]);
  t.is(w.decode([9, 5, 3]), 'the cat');
  const file = path.join(dir, 'tok.json');
  w.save(file);
  t.deepEqual((require('../src/clip/tokenizer') as typeof import('../src/clip/tokenizer')).loadTokenizer(file).encode('grass moon'), [6, 7]);
  const long = tokenize(['a a a a a a a a'], { vocab: w, contextLength: 4 });
  t.deepEqual(Array.from(long.data, Number), [1, 4, 4, 2]);
  t.throws(() => tokenize(['a a a a a'], { vocab: w, contextLength: 4, truncate: false }), { message: /Text 0 has 7 tokens, more than the context length 4/ });
});

test('dense-feature variants match references written from the papers (q–q, q–q + k–k, k–k with a Gaussian neighbourhood; no residual)', async (t) => {
  // test/fixtures/tools/variants-reference.py computes them with PyTorch; its MaskCLIP output equals the
  // original code's (vit-tiny.io.safetensors `dense`) to 1e-6, which checks the shared ViT trunk.
  const clip = await Clip.load(fixture('parity', 'vit-tiny.safetensors'), { vocab: bpe() });
  const io = await safetensors.read(fixture('parity', 'vit-tiny.io.safetensors'));
  const ref = await safetensors.read(fixture('parity', 'vit-tiny.variants.safetensors'));
  const img = io.image as Tensor<'float32'>;
  for (const variant of ['maskclip', 'clearclip', 'sclip', 'naclip'] as const) {
    const got = await clip.denseFeatures(img, { variant });
    t.deepEqual(got.shape, ref[variant].shape, variant);
    const err = relErr(got, ref[variant] as Tensor<'float32'>);
    t.true(err < 1e-4, `${variant}: relative error ${err}`);
    // Each reference is far from the others, so a variant computed another way cannot pass.
    for (const other of ['maskclip', 'clearclip', 'sclip', 'naclip'] as const) if (other !== variant) t.true(relErr(got, ref[other] as Tensor<'float32'>) > 1e-2, `${variant} vs ${other}`);
  }
});

test('dense-feature variants keep their defining properties', async (t) => {
  const clip = await Clip.load(fixture('parity', 'vit-tiny.safetensors'), { vocab: bpe() });
  const io = await safetensors.read(fixture('parity', 'vit-tiny.io.safetensors'));
  const img = io.image_alt as Tensor<'float32'>; // 96² → 6×6 patches
  const rowSums = (a: Tensor) => {
    const L = a.shape[a.shape.length - 1];
    const sums: number[] = [];
    for (let i = 0; i < a.data.length; i += L) sums.push((a.data as Float32Array).slice(i, i + L).reduce((x, y) => x + y, 0));
    return sums;
  };
  for (const [variant, expected] of [['clearclip', 1], ['naclip', 1], ['sclip', 2]] as const) {
    const a = await clip.denseAttention(img, variant);
    t.deepEqual(a.shape.slice(-2), [37, 37]);
    t.true(rowSums(a).every((s) => Math.abs(s - expected) < 1e-4), `${variant} rows sum to ${expected}`);
    const f = await clip.denseFeatures(img, { variant });
    t.deepEqual(f.shape, [1, 32, 6, 6]);
  }
  // ClearCLIP: q-q attention logits are symmetric, so A_ij / A_ji = Z_j / Z_i with Z the row normalisers.
  // NACLIP: the Gaussian neighbourhood favours near patches: mean weight to distance-1 patches > distance ≥ 4.
  const na = (await clip.denseAttention(img, 'naclip')).data as Float32Array;
  let near = 0;
  let nearN = 0;
  let far = 0;
  let farN = 0;
  for (let i = 0; i < 36; i++) {
    for (let j = 0; j < 36; j++) {
      const d = Math.hypot(Math.floor(i / 6) - Math.floor(j / 6), (i % 6) - (j % 6));
      const v = na[(1 + i) * 37 + 1 + j];
      if (d === 1) (near += v), nearN++;
      if (d >= 4) (far += v), farN++;
    }
  }
  t.true(near / nearN > far / farN);
  // The variants drop the residual path: they differ from MaskCLIP's output.
  const m = await clip.denseFeatures(img);
  const c = await clip.denseFeatures(img, { variant: 'clearclip' });
  t.true(relErr(c, m) > 1e-3);
  await t.throwsAsync(clip.denseFeatures(img, { variant: 'best' as never }), { message: /Expected one of 'maskclip', 'clearclip', 'sclip', 'naclip' for options.variant/ });
  await t.throwsAsync(clip.denseFeatures({ dtype: 'float32', shape: [1, 3, 50, 64], data: new Float32Array(9600) }), { message: /divisible by 16/ });
});

test('the 85 prompt templates ship with the package', (t) => {
  const templates = promptTemplates();
  t.is(templates.length, 85);
  t.true(templates.every((s) => s.includes('{}')));
  t.deepEqual(templates, JSON.parse(fs.readFileSync(fixture('vocab.json'), 'utf8')).prompt_templates);
});

test('image files go through CLIP preprocessing; sliding windows average overlapping windows', async (t) => {
  const clip = await Clip.load(fixture('parity', 'vit-tiny.safetensors'), { vocab: bpe() });
  const jpg = fixture('real', 'VOCdevkit', 'VOC2012', 'JPEGImages', '2007_000063.jpg');
  const e = await clip.encodeImage([jpg, fs.readFileSync(jpg)]);
  t.deepEqual(e.shape, [2, 32]);
  // The same image as a path and as a Buffer: the same embedding (two rows of one batch, so equal
  // up to the BLAS kernel's handling of row blocks, not necessarily bit for bit).
  const scale = Math.max(...Array.from(e.data, Math.abs));
  e.data.slice(0, 32).forEach((v, i) => t.true(Math.abs(v - e.data[32 + i]) <= 1e-6 * scale, `dim ${i}: ${v} vs ${e.data[32 + i]}`));
  const x = await clip.prepareDense([jpg], 64);
  t.deepEqual(x.shape, [1, 3, 64, 80]);
  const full = await clip.denseFeatures(x);
  // A window as large as the image is the plain computation.
  t.deepEqual(Array.from((await clip.denseFeatures(x, { window: 96 })).data), Array.from(full.data));
  const win = await clip.denseFeatures(x, { window: 64, stride: 16 });
  t.deepEqual(win.shape, full.shape);
  // The first column of cells is covered by one window only: it equals that window's features.
  const first = await clip.denseFeatures(cropImage(x, 0, 0, 0, 64, 64));
  for (let e2 = 0; e2 < 32; e2++) for (let y = 0; y < 4; y++) t.true(Math.abs(win.data[(e2 * 4 + y) * 5] - first.data[(e2 * 4 + y) * 4]) < 1e-5);
});

// Sliding windows against a naive reference: each window of each image through CLIP on its own
// (batch 1), its features summed into the cells it covers and divided by the windows per cell. The
// addon stacks the windows of a few images into one pass; two different images catch a window's
// features landing in the wrong image or cell.
for (const [model, stride] of [['vit-tiny', 16], ['rn-tiny', 32]] as const) {
  test(`sliding windows over a batch equal each window alone, averaged (${model})`, async (t) => {
    const clip = await Clip.load(fixture('parity', `${model}.safetensors`), { vocab: bpe() });
    const [N, H, W, win, step] = [2, 4 * stride, 5 * stride, 2 * stride, stride];
    const x: Tensor<'float32'> = { dtype: 'float32', shape: [N, 3, H, W], data: new Float32Array(N * 3 * H * W) };
    for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sin(i * 0.37) + Math.cos(i * 0.011);
    const got = await clip.denseFeatures(x, { window: win, stride: step });
    const [fh, fw] = [H / stride, W / stride];
    const E = got.shape[1];
    t.deepEqual(got.shape, [N, E, fh, fw]);
    const sum = new Float64Array(N * E * fh * fw);
    const count = new Float64Array(fh * fw);
    for (let y0 = 0; y0 + win <= H; y0 += step) {
      for (let x0 = 0; x0 + win <= W; x0 += step) {
        for (let cy = 0; cy < win / stride; cy++) for (let cx = 0; cx < win / stride; cx++) count[(y0 / stride + cy) * fw + x0 / stride + cx]++;
        for (let n = 0; n < N; n++) {
          const f = await clip.denseFeatures(cropImage(x, n, y0, x0, win, win));
          const g = win / stride;
          for (let e = 0; e < E; e++) for (let cy = 0; cy < g; cy++) for (let cx = 0; cx < g; cx++) sum[((n * E + e) * fh + y0 / stride + cy) * fw + x0 / stride + cx] += f.data[(e * g + cy) * g + cx];
        }
      }
    }
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < sum.length; i++) {
      const want = sum[i] / count[i % (fh * fw)];
      worst = Math.max(worst, Math.abs(got.data[i] - want));
      scale = Math.max(scale, Math.abs(want));
    }
    t.true(worst <= 1e-5 * scale, `largest difference ${worst} (features up to ${scale})`);
  });
}

test('the Hugging Face tokenizer files (vocab.json + merges.txt) give the same ids', async (t) => {
  // Build the HF files from the OpenAI merges, with the vocabulary order written out here.
  const zlib = await import('node:zlib');
  const lines = zlib.gunzipSync(fs.readFileSync(fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'))).toString('utf8').split('\n');
  const merges = lines.slice(1, 49152 - 256 - 2 + 1);
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) cs.push(256 + n++);
  const chars = cs.map((c) => String.fromCodePoint(c));
  const vocab = [...chars, ...chars.map((c) => `${c}</w>`), ...merges.map((m) => m.replace(' ', '')), '<|startoftext|>', '<|endoftext|>'];
  const hf = tmpDir('clips4-hf-tok-');
  fs.writeFileSync(path.join(hf, 'vocab.json'), JSON.stringify(Object.fromEntries(vocab.map((v, i) => [v, i]))));
  fs.writeFileSync(path.join(hf, 'merges.txt'), ['#version: 0.2', ...merges].join('\n') + '\n');
  const cases = JSON.parse(fs.readFileSync(fixture('parity', 'tokenizer.json'), 'utf8')) as { cases: { text: string; ids: number[] }[] };
  const bad = cases.cases.filter((c) => JSON.stringify(Array.from(tokenize([c.text], { vocab: hf }).data, Number)) !== JSON.stringify(c.ids));
  t.is(bad.length, 0, bad.slice(0, 3).map((c) => c.text).join(' | '));
});

test('inference after a training step uses the updated weights', async (t) => {
  const words = ['red', 'green', 'blue', 'square'];
  const clip = await Clip.create({ kind: 'vit', embedDim: 16, imageResolution: 32, visionWidth: 64, visionLayers: 2, patchSize: 8, contextLength: 8, textWidth: 32, textLayers: 1 }, new WordTokenizer(words), { seed: 3 });
  const images: Tensor<'float32'> = { dtype: 'float32', shape: [4, 3, 32, 32], data: new Float32Array(4 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37)) };
  const before = await clip.encodeImage(images);
  await clip.trainStep(images, clip.tokenize(words), { lr: 0.05 });
  const after = await clip.encodeImage(images);
  const file = path.join(dir, 'stepped.safetensors');
  await clip.save(file);
  const reloaded = await Clip.load(file, { openaiRounding: false, vocab: new WordTokenizer(words) });
  const fresh = await reloaded.encodeImage(images);
  const maxDiff = (a: Tensor<'float32'>, b: Tensor<'float32'>) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);
  t.true(maxDiff(before, after) > 1e-3, 'the step changed the image embeddings');
  t.true(maxDiff(after, fresh) < 1e-5, `after the step vs a model loaded from the stepped weights: ${maxDiff(after, fresh)}`);
});

test('CLIP training decays matrices and kernels only: gains, biases and the logit scale keep their values', async (t) => {
  const words = ['red', 'green', 'blue', 'square'];
  const clip = await Clip.create({ kind: 'vit', embedDim: 16, imageResolution: 32, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 32, textLayers: 1 }, new WordTokenizer(words), { seed: 5 });
  const images: Tensor<'float32'> = { dtype: 'float32', shape: [4, 3, 32, 32], data: new Float32Array(4 * 3 * 32 * 32).map((_, i) => Math.cos(i * 0.11)) };
  const before = await clip.stateDict();
  // AdamW with decoupled decay: p ← p − lr·(adam step) − lr·wd·p. With lr 1e-3 and wd 100 a decayed
  // tensor shrinks by 10% while Adam moves each element by at most ~lr.
  const lr = 1e-3;
  await clip.trainStep(images, clip.tokenize(words), { lr, weightDecay: 100 });
  const after = await clip.stateDict();
  let matrices = 0;
  let vectors = 0;
  for (const [name, b] of Object.entries(before)) {
    const a = after[name];
    if (!name.endsWith('weight') && !name.endsWith('bias') && name !== 'logit_scale' && !name.endsWith('proj') && !name.endsWith('embedding')) continue;
    if (b.shape.length >= 2) {
      // ‖a‖ ≈ 0.9‖b‖ (Adam's ≤ lr per element changes the norm by far less than 10%).
      const norm = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
      const ratio = norm(a.data) / norm(b.data);
      t.true(Math.abs(ratio - 0.9) < 0.02, `${name} (${b.shape}): norm ratio ${ratio.toFixed(4)}`);
      matrices++;
    } else {
      const moved = b.data.reduce((m, v, i) => Math.max(m, Math.abs(v - a.data[i])), 0);
      t.true(moved < 3 * lr, `${name} (${b.shape.join('x') || 'scalar'}): moved ${moved}, more than Adam's step: decayed`);
      vectors++;
    }
  }
  t.true(matrices > 5 && vectors > 5, `${matrices} matrices, ${vectors} vectors checked`);
});

test('Clip.create rejects a vision width without attention heads instead of crashing', async (t) => {
  const tok = new WordTokenizer(['a']);
  await t.throwsAsync(Clip.create({ kind: 'vit', visionWidth: 32, imageResolution: 32, patchSize: 8, visionLayers: 1, textWidth: 32, textLayers: 1, contextLength: 4, embedDim: 8 }, tok), { message: /at least 64.*config\.visionWidth but received number 32/ });
  await t.throwsAsync(Clip.create({ kind: 'resnet', visionWidth: 1, resnetLayers: [1, 1, 1, 1], imageResolution: 64, textWidth: 32, textLayers: 1, contextLength: 4, embedDim: 8 }, tok), { message: /config\.visionWidth/ });
});


test('CLIPS4_ONEDNN=0 (CLIP products in at::linear / at::matmul) gives the same dense features as the oneDNN path', async (t) => {
  const clip = await Clip.create(DENSE_TEST_CONFIG, new WordTokenizer(['a']), { seed: 7 });
  const ours = await clip.denseFeatures(denseTestInput());
  const file = path.join(dir, 'features-blas.f32');
  execFileSync(process.execPath, ['--import=tsx', path.join(__dirname, 'helpers', 'clip-features-child.ts'), file], { env: { ...process.env, CLIPS4_ONEDNN: '0' } });
  const buf = fs.readFileSync(file);
  const blas = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  t.is(blas.length, ours.data.length);
  const scale = ours.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const diff = ours.data.reduce((m, v, i) => Math.max(m, Math.abs(v - blas[i])), 0);
  t.true(diff <= 1e-4 * scale, `max difference ${diff} (scale ${scale})`);
});

test('a seed gives the same weights while other models are created at the same time', async (t) => {
  // Modules draw their initial weights from LibTorch's one default generator; seeded constructions
  // hold it for themselves (native/src/seeded.h), so concurrent creations cannot interleave draws.
  const words = new WordTokenizer(['a']);
  const config = { ...DENSE_TEST_CONFIG, visionWidth: 256, visionLayers: 6, textWidth: 256, textLayers: 4 };
  const alone = await (await Clip.create(config, words, { seed: 7 })).stateDict();
  const seeds = [7, 3, 7, 11, 7, 5, 7, 13];
  const together = await Promise.all(seeds.map((seed) => Clip.create(config, words, { seed })));
  const dicts = await Promise.all(together.map((c) => c.stateDict()));
  const same = (d: Record<string, Tensor>) => Object.entries(alone).filter(([k, v]) => !v.data.every((x, j) => x === d[k].data[j])).map(([k]) => k);
  seeds.forEach((seed, i) => {
    if (seed === 7) t.deepEqual(same(dicts[i]), [], `seed 7, model ${i}: these tensors differ from the model created alone`);
    else t.true(same(dicts[i]).length > 0, `seed ${seed} gives other weights`);
  });
});

test('logitScale is exp(logit_scale) of the weights, capped at 100 like the forward pass', async (t) => {
  const file = fixture('parity', 'vit-tiny.safetensors');
  const raw = (await safetensors.read(file)).logit_scale.data as Float32Array;
  const clip = await Clip.load(file, { vocab: new WordTokenizer(['a']) });
  t.true(Math.abs((await clip.logitScale()) - Math.min(100, Math.exp(raw[0]))) < 1e-3 * Math.min(100, Math.exp(raw[0])));
  // A freshly created CLIP starts at OpenAI's initial temperature 0.07.
  const fresh = await Clip.create(DENSE_TEST_CONFIG, new WordTokenizer(['a']), { seed: 1 });
  t.true(Math.abs((await fresh.logitScale()) - 1 / 0.07) < 1e-3);
});

test('the text encoder pools at the end token for word tokenizers too (not at the highest id)', async (t) => {
  // Word ids follow the word list: 'photo' gets the highest. "photo cat" and "photo dog" differ only
  // after it; pooled at the highest id (OpenAI's argmax rule, right only for its BPE), the causal
  // mask hides the class word and both texts embed alike.
  const words = new WordTokenizer(['cat', 'dog', 'photo']);
  const clip = await Clip.create({ kind: 'vit', embedDim: 16, imageResolution: 32, visionWidth: 64, visionLayers: 1, patchSize: 8, contextLength: 8, textWidth: 32, textLayers: 1 }, words, { seed: 4 });
  const e = await clip.encodeText(['photo cat', 'photo dog', 'cat photo']);
  const row = (i: number) => Array.from(e.data.subarray(i * 16, (i + 1) * 16));
  t.true(row(0).some((v, k) => Math.abs(v - row(1)[k]) > 1e-4), 'the class word after the highest-id word changes the embedding');
  t.true(row(0).some((v, k) => Math.abs(v - row(2)[k]) > 1e-4));
});

test('trimPadding cuts the token ids after the last column any text uses, and nothing else', (t) => {
  const ids = { dtype: 'int64' as const, shape: [3, 6], data: BigInt64Array.from([1, 5, 2, 0, 0, 0, 1, 0, 7, 2, 0, 0, 1, 2, 0, 0, 0, 0].map(BigInt)) };
  // Row 1 holds an id 0 before its end token (a BPE '!'): the cut is after its end, column 4.
  t.deepEqual(trimPadding(ids), { dtype: 'int64', shape: [3, 4], data: BigInt64Array.from([1, 5, 2, 0, 1, 0, 7, 2, 1, 2, 0, 0].map(BigInt)) });
  const full = { dtype: 'int64' as const, shape: [1, 3], data: BigInt64Array.from([1n, 4n, 2n]) };
  t.is(trimPadding(full), full);
});

test('a text embeds the same alone (few columns) and beside a long one (many padding columns)', async (t) => {
  // The encoder runs only the columns up to the batch's longest text: a short text's embedding
  // must not depend on how much padding it carries (the causal mask hides later columns).
  const clip = await Clip.load(fixture('parity', 'vit-tiny.safetensors'), { vocab: bpe() });
  const long = Array.from({ length: 30 }, () => 'photo').join(' ');
  const texts = ['a photo of a cat.', 'a dog', 'grass'];
  const batch = await clip.encodeText([...texts, long]);
  const E = clip.info.embedDim;
  for (let i = 0; i < texts.length; i++) {
    const alone = await clip.encodeText([texts[i]]);
    const e = relErr({ dtype: 'float32', shape: [1, E], data: batch.data.subarray(i * E, (i + 1) * E) } as Tensor, alone);
    t.true(e <= 1e-6, `${texts[i]}: relative error ${e.toExponential(2)}`);
  }
});
