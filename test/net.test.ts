import * as path from 'node:path';
import test from 'ava';
import { PixelEmbedder, ResNet, safetensors } from '../src/index';
import { native } from '../src/native';
import { NativeTrainer } from '../src/train/native-trainer';
import { defaultConfig } from '../src/train/config';
import { trainerOptions } from '../src/train/options';
import { zeros, type Tensor } from '../src/tensor';
import { fixture } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const dir = tmpDir('clips4-net-');
const tiny = { layers: [1, 1, 1, 1], inner: [4, 8, 8, 8], out: [8, 16, 16, 16], stem: 8, headChannels: 8, embedDim: 6, norm: 'gn' as const };

function randomImages(n: number, s: number, seed = 1): Tensor<'float32'> {
  const t = zeros('float32', [n, 3, s, s]);
  let x = seed;
  for (let i = 0; i < t.data.length; i++) t.data[i] = ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return t;
}

test('resnet-tiny: layer1..layer4 match torchvision (dilated layer3/4)', async (t) => {
  const io = await safetensors.read(fixture('parity', 'resnet-tiny.io.safetensors'));
  const net = await ResNet.load(fixture('parity', 'resnet-tiny.safetensors'), { dilation: [false, true, true] });
  t.deepEqual(net.config.inner, [16, 32, 64, 128]);
  const f = await net.features(io.image as Tensor<'float32'>);
  for (const k of ['layer1', 'layer2', 'layer3', 'layer4'] as const) {
    const want = io[k].data as Float32Array;
    let max = 0;
    let err = 0;
    for (let i = 0; i < want.length; i++) {
      max = Math.max(max, Math.abs(want[i]));
      err = Math.max(err, Math.abs(f[k].data[i] - want[i]));
    }
    t.deepEqual(f[k].shape, io[k].shape);
    t.true(err / max <= 1e-4, `${k}: ${(err / max).toExponential(2)}`);
  }
});

test('wrong-shaped backbone weights name the key', async (t) => {
  const w = await safetensors.read(fixture('parity', 'resnet-tiny.safetensors'));
  const e = PixelEmbedder.create({ ...tiny });
  await t.throwsAsync(native().net.loadBackbone(e.handle, w), { code: 'ERR_CLIPS4_WEIGHTS', message: /tensor 'conv1\.weight' has shape \[64, 3, 7, 7\] but the network needs \[8, 3, 7, 7\]/ });
});

test('embeddings are unit vectors at output stride 8 (16 with fewer dilations, 4 with upsampling)', async (t) => {
  const e = PixelEmbedder.create(tiny);
  const y = await e.embed(randomImages(2, 64));
  t.deepEqual(y.shape, [2, 6, 8, 8]);
  t.is(e.stride, 8);
  for (let p = 0; p < 64; p++) {
    let n = 0;
    for (let c = 0; c < 6; c++) n += y.data[c * 64 + p] ** 2;
    t.true(Math.abs(n - 1) < 1e-5);
  }
  const os16 = PixelEmbedder.create({ ...tiny, dilation: [false, false, true] });
  t.deepEqual((await os16.embed(randomImages(1, 64))).shape, [1, 6, 4, 4]);
  const up = PixelEmbedder.create({ ...tiny, upsample: true });
  t.deepEqual((await up.embed(randomImages(1, 64))).shape, [1, 6, 16, 16]);
  t.is(up.stride, 4);
  t.throws(() => PixelEmbedder.create({ ...tiny, norm: 'ln' as never }), { message: /Expected one of 'bn', 'bn-eval', 'gn' for config.norm/ });
});

test('batch-1 training works for every norm setting and save → load keeps outputs', async (t) => {
  for (const norm of ['bn', 'bn-eval', 'gn'] as const) {
    const e = PixelEmbedder.create({ ...tiny, norm, embedDim: 8 }, { seed: 3 });
    const trainer = NativeTrainer.create(e.handle, trainerOptions(defaultConfig(['segments.grid=[2,2]', 'segments.kmeansIterations=2', 'loss.semantic=false'])));
    const S = 32;
    const batch = {
      images: randomImages(2, S, 5),
      regions: zeros('int32', [2, S, S]),
      ignore: zeros('uint8', [2, S, S]),
      clip: { dtype: 'float32' as const, shape: [2, 8, 4, 4], data: new Float32Array(2 * 8 * 16).fill(0.3) },
    };
    for (let i = 0; i < S * S * 2; i++) batch.regions.data[i] = i % S < S / 2 ? 0 : 1;
    const probe = randomImages(1, S, 7);
    const before = await e.embed(probe);
    const weightsBefore = (await trainer.state()).model;
    const m = await trainer.step(batch, 0.01);
    t.true(Number.isFinite(m.loss) && m.loss > 0, `${norm}: loss ${m.loss}`);
    // One image per view (batch-norm over a single image's pixels) still trains: the step moves the
    // network, and its embeddings stay unit vectors.
    const after = await e.embed(probe);
    t.true(after.data.some((v, i) => Math.abs(v - before.data[i]) > 1e-6), `${norm}: the step changed the embeddings`);
    // …through its parameters, not only batch-norm's running statistics (which move with lr 0 too).
    const weightsAfter = (await trainer.state()).model;
    const learned = Object.keys(weightsBefore).filter((k) => !/running_|num_batches/.test(k));
    t.true(learned.filter((k) => weightsAfter[k].data.some((v, i) => v !== weightsBefore[k].data[i])).length > learned.length / 2, `${norm}: most parameters moved`);
    const D = after.shape[1];
    const plane = after.shape[2] * after.shape[3];
    for (let p = 0; p < plane; p += 7) t.true(Math.abs(Math.hypot(...Array.from({ length: D }, (_, d) => after.data[d * plane + p])) - 1) < 1e-4);
  }
  const e = PixelEmbedder.create({ ...tiny }, { seed: 9 });
  const file = path.join(dir, 'emb.safetensors');
  await e.save(file);
  const back = await PixelEmbedder.load(file);
  t.deepEqual(back.config, e.config);
  const x = randomImages(1, 32, 11);
  t.deepEqual(Array.from((await back.embed(x)).data), Array.from((await e.embed(x)).data));
});
