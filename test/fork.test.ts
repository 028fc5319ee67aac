// Fork safety: a Node program may fork or spawn at any moment while any number of clips4 calls
// run, and nothing may hang or compute wrongly. The cause found and fixed (native/src/runtime.cc,
// cmake/FindLibTorch.cmake, README "Using clips4 in a server"): OpenBLAS's pthreads build, whose
// fork handler deadlocked with two computations in flight. Each variant runs 100 rounds of
// computations in flight + 10 synchronous spawns; a hang fails through ava's timeout.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Segmenter } from '../src/infer/segmenter';
import { sphericalKMeans } from '../src/kernels';
import { native } from '../src/native';
import { matmul } from '../src/ops';
import { zeros, type Tensor } from '../src/tensor';
import { NativeTrainer, type TrainBatch } from '../src/train/native-trainer';
import { defaultConfig } from '../src/train/config';
import { trainerOptions } from '../src/train/options';
import { fixture } from './helpers/fixtures';
import { denseAndMatmulRounds, sameData, spawnMany, squareMatrix } from './helpers/fork-rounds';

const ROUNDS = 100;

function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function randomTensor(shape: number[], seed: number): Tensor<'float32'> {
  const r = uniform(seed);
  return { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => r() - 0.5) };
}

test.serial('the reported reproducer: CLIP dense features and a matmul in flight, spawns on the main thread', async (t) => {
  const blas = native().runtime.blasThreading();
  t.log(`OpenBLAS: ${JSON.stringify(blas)}`);
  t.is(await denseAndMatmulRounds(ROUNDS), ROUNDS, 'every round gives the results computed alone');
});

test.serial('segment() calls in flight while the main thread spawns', async (t) => {
  const seg = await Segmenter.load({ clip: fixture('parity', 'vit-tiny.safetensors'), vocab: fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'), size: 64, batchSize: 1 });
  const images = ['2007_000063.jpg', 'crop_1.jpg'].map((f) => fixture('real', 'VOCdevkit', 'VOC2012', 'JPEGImages', f));
  const classes = ['cat', 'dog', 'person'];
  const a = squareMatrix(256);
  const refs = await Promise.all(images.map((img) => seg.segment(img, { classes })));
  const mmRef = await matmul(a, a);
  let good = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const inFlight = Promise.all([...images.map((img) => seg.segment(img, { classes })), matmul(a, a)]);
    spawnMany();
    const out = await inFlight;
    const mm = out.pop() as Tensor;
    if (sameData(mm, mmRef) && (out as typeof refs).every((s, i) => s.labels.every((v, j) => v === refs[i].labels[j]))) good++;
  }
  t.is(good, ROUNDS);
});

test.serial('a training step and k-means in flight while the main thread spawns', async (t) => {
  const S = 32;
  const E = 8;
  const pairs = 2;
  const batch = (seed: number): TrainBatch => {
    const regions = zeros('int32', [2 * pairs, S, S]);
    regions.data.forEach((_, i) => (regions.data[i] = (i % S < S / 2 ? 0 : 1) + 2 * (Math.floor(i / S) % S < S / 2 ? 0 : 1)));
    return { images: randomTensor([2 * pairs, 3, S, S], seed), regions, ignore: zeros('uint8', [2 * pairs, S, S]), clip: randomTensor([2 * pairs, E, S / 4, S / 4], seed + 1) };
  };
  const trainer = () => NativeTrainer.create(native().trainer.smallNet({ width: 16, dim: E, seed: 3 }), trainerOptions(defaultConfig(['segments.grid=[2,2]', 'segments.kmeansIterations=3'])));
  const emb = randomTensor([4, 32, 42, 42], 11);
  const kmeansRef = await sphericalKMeans(emb, { grid: [6, 6], iterations: 10, locationWeight: 1 });
  // The same steps with nothing else going on: training is deterministic, so the losses must agree.
  const alone = trainer();
  const lossesAlone: number[] = [];
  for (let r = 0; r < ROUNDS; r++) lossesAlone.push((await alone.step(batch(r), 0.01)).loss);
  const busy = trainer();
  let good = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const inFlight = Promise.all([busy.step(batch(r), 0.01), sphericalKMeans(emb, { grid: [6, 6], iterations: 10, locationWeight: 1 })]);
    spawnMany();
    const [m, k] = await inFlight;
    if (m.loss === lossesAlone[r] && sameData(k.labels, kmeansRef.labels)) good++;
  }
  t.true(lossesAlone.every(Number.isFinite));
  t.is(good, ROUNDS);
});

// Where the pthreads build of OpenBLAS is what the loader finds (the system's default alternative
// without libopenblas0-openmp, or a prebuild on such a machine), clips4 limits it to one thread.
test.serial('with OpenBLAS\'s pthreads build forced in, it is limited to one thread and the reproducer passes', async (t) => {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  const loaded = /(\/\S+)\/libopenblas\S*\.so/.exec(maps);
  t.truthy(loaded, 'LibTorch here loads OpenBLAS (Debian\'s libtorch); with another BLAS this check does not apply');
  const pthreadsDir = path.join(path.dirname(loaded![1]), 'openblas-pthread');
  t.true(fs.existsSync(pthreadsDir), `${pthreadsDir} is missing: install libopenblas0-pthread (scripts/setup.mjs does)`);
  const child = path.join(__dirname, 'helpers', 'fork-child.ts');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import=tsx', child, String(ROUNDS)], { env: { ...process.env, LD_LIBRARY_PATH: pthreadsDir } }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  const r = JSON.parse(out) as { good: number; blas: { parallel: string; threadsBefore: number; limited: boolean } };
  t.is(r.blas.parallel, 'pthreads', 'the child loaded the pthreads build');
  t.is(r.blas.limited, r.blas.threadsBefore > 1);
  t.is(r.good, ROUNDS);
});

test('the addon loads OpenBLAS\'s OpenMP build where it is installed', (t) => {
  const blas = native().runtime.blasThreading();
  t.not(blas, null, 'LibTorch here uses OpenBLAS');
  t.is(blas!.parallel, 'openmp', 'scripts/setup.mjs installs libopenblas0-openmp and the build links it (cmake/FindLibTorch.cmake)');
  t.false(blas!.limited);
});
