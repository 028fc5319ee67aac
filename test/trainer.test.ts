// The native training step on synthetic batches whose structure is known: images made of coloured
// rectangles (the regions), two views per image (the second flipped), CLIP features constant per
// region. Checks that losses fall, L_e aligns segments with CLIP, and save/restore continues exactly.
import test from 'ava';
import { native } from '../src/native';
import { NativeTrainer, polyLr, type TrainBatch, type TrainerOptions } from '../src/train/native-trainer';
import { defaultConfig } from '../src/train/config';
import { trainerOptions } from '../src/train/options';
import { zeros } from '../src/tensor';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), s | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const S = 32;
const E = 8;
const palette = [
  [0.9, 0.1, 0.1],
  [0.1, 0.8, 0.2],
  [0.1, 0.2, 0.9],
  [0.9, 0.9, 0.2],
];
// Each colour class has a fixed "CLIP" direction.
const clipDirs = palette.map((_, c) => Array.from({ length: E }, (_, e) => (e === c ? 1 : e === c + 4 ? 0.5 : 0)));

function makeBatch(pairs: number, seed: number): TrainBatch {
  const r = rng(seed);
  const V = 2 * pairs;
  const images = zeros('float32', [V, 3, S, S]);
  const regions = zeros('int32', [V, S, S]);
  const ignore = zeros('uint8', [V, S, S]);
  const s = S / 4;
  const clip = zeros('float32', [V, E, s, s]);
  for (let b = 0; b < pairs; b++) {
    // Vertical split at a random column, two colour classes.
    const split = 8 + Math.floor(r() * 16);
    const cls = [Math.floor(r() * 4), 0];
    cls[1] = (cls[0] + 1 + Math.floor(r() * 3)) % 4;
    for (let view = 0; view < 2; view++) {
      const v = view * pairs + b;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const srcX = view === 1 ? S - 1 - x : x; // view 2 is the horizontal flip
          const region = srcX < split ? 0 : 1;
          regions.data[(v * S + y) * S + x] = region;
          for (let c = 0; c < 3; c++) images.data[((v * 3 + c) * S + y) * S + x] = palette[cls[region]][c] + (r() - 0.5) * 0.1;
        }
      }
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          const srcX = view === 1 ? S - 1 - (x * 4 + 2) : x * 4 + 2;
          const region = srcX < split ? 0 : 1;
          for (let e = 0; e < E; e++) clip.data[((v * E + e) * s + y) * s + x] = clipDirs[cls[region]][e];
        }
      }
    }
  }
  return { images, regions, ignore, clip };
}

function prototypes(): { known: ReturnType<typeof zeros<'float32'>>; unknown: ReturnType<typeof zeros<'float32'>> } {
  const known = zeros('float32', [2, E]);
  known.data.set(clipDirs[0], 0);
  known.data.set(clipDirs[1], E);
  const unknown = zeros('float32', [2, E]);
  unknown.data.set(clipDirs[2].map((x, i) => x + (i === 7 ? 0.3 : 0)), 0);
  unknown.data.set(clipDirs[3].map((x, i) => x + (i === 6 ? 0.3 : 0)), E);
  return { known, unknown };
}

function newTrainer(options: Partial<TrainerOptions> = {}): NativeTrainer {
  const net = native().trainer.smallNet({ width: 16, dim: E, seed: 7 });
  return NativeTrainer.create(net, { ...trainerOptions(defaultConfig(['segments.grid=[2,2]', 'segments.kmeansIterations=5']), prototypes()), ...options });
}

async function run(trainer: NativeTrainer, from: number, to: number) {
  const out = [];
  for (let it = from; it < to; it++) out.push(await trainer.step(makeBatch(4, 100 + it), polyLr(0.05, it, 60, 0.9)));
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('losses decrease and L_e raises avgsim', async (t) => {
  const full = await run(newTrainer(), 0, 40);
  t.true(full.every((m) => Number.isFinite(m.loss)));
  const first = full.slice(0, 5);
  const last = full.slice(-5);
  t.true(mean(last.map((m) => m.loss)) < mean(first.map((m) => m.loss)), `loss ${mean(first.map((m) => m.loss))} → ${mean(last.map((m) => m.loss))}`);
  t.true(mean(last.map((m) => m.avgsim)) > mean(first.map((m) => m.avgsim)) + 0.05, `avgsim ${mean(first.map((m) => m.avgsim))} → ${mean(last.map((m) => m.avgsim))}`);
  t.true(full[0].segments >= 8, 'k-means segments split by region');
  t.is(full[39].iteration, 40);
  const noE = await run(newTrainer({ embedding: false, semantic: false }), 0, 40);
  t.true(mean(last.map((m) => m.avgsim)) > mean(noE.slice(-5).map((m) => m.avgsim)), 'avgsim is higher with L_e than without');
  t.is(noE[0].embedding, 0);
});

test('state → restore continues bit-identically', async (t) => {
  const straight = newTrainer();
  await run(straight, 0, 12);
  const a = newTrainer();
  await run(a, 0, 6);
  const saved = await a.state();
  const b = newTrainer();
  await b.restore(saved);
  await run(b, 6, 12);
  const s1 = await straight.state();
  const s2 = await b.state();
  t.is(s2.iteration, 12);
  for (const k of Object.keys(s1.model)) t.deepEqual(s2.model[k].data, s1.model[k].data, k);
  t.deepEqual(s2.extra.unknown.data, s1.extra.unknown.data);
  t.deepEqual(Object.keys(s2.extra).sort(), Object.keys(s1.extra).sort());
});

test('MaskCLIP+ baseline trains on pixel pseudo-labels; bad batches are refused', async (t) => {
  const { known } = prototypes();
  const tr = newTrainer({ maskclipPlus: true, knownText: known });
  // The same batch every step: its loss must fall.
  const fixed = makeBatch(4, 5);
  const ms = [];
  for (let it = 0; it < 15; it++) ms.push(await tr.step(fixed, 0.002));
  t.true(mean(ms.slice(-4).map((m) => m.loss)) < mean(ms.slice(0, 4).map((m) => m.loss)), ms.map((m) => m.loss.toFixed(3)).join(" "));
  t.is(ms[0].contrastive, 0);
  const bad = makeBatch(2, 1);
  bad.regions = zeros('int32', [3, S, S]);
  await t.throwsAsync(tr.step(bad, 0.01), { code: 'ERR_CLIPS4_SHAPE', message: /V = 4 in dimension 0 of batch.regions/ });
  t.throws(() => newTrainer({ maskclipPlus: true, knownText: undefined }), { message: /MaskCLIP\+ baseline needs options.knownText/ });
  t.throws(() => newTrainer({ kapa: 3 } as never), { message: /did you mean 'kappa'/ });
});

test('float64 training (train.precision) keeps float64 state and resumes bit-identically', async (t) => {
  const straight = newTrainer({ dtype: 'float64' });
  const m = await run(straight, 0, 8);
  t.true(m.every((x) => Number.isFinite(x.loss)));
  const a = newTrainer({ dtype: 'float64' });
  await run(a, 0, 4);
  const b = newTrainer({ dtype: 'float64' });
  await b.restore(await a.state());
  await run(b, 4, 8);
  const s1 = await straight.state();
  const s2 = await b.state();
  const floats = Object.entries(s1.model).filter(([k]) => !k.endsWith('num_batches_tracked'));
  t.true(floats.length > 0 && floats.every(([, v]) => v.dtype === 'float64'), 'parameters and statistics stay float64');
  for (const [k, v] of Object.entries(s1.model)) t.deepEqual(s2.model[k].data, v.data, k);
  t.is(s1.extra.unknown.dtype, 'float64');
  // The same steps in float32 are a different computation, close but not equal.
  const single = newTrainer();
  const m32 = await run(single, 0, 8);
  t.not(m32[7].loss, m[7].loss);
  t.true(Math.abs(m32[0].loss - m[0].loss) < 1e-3 * Math.abs(m[0].loss), `first loss ${m32[0].loss} vs ${m[0].loss}`);
  t.throws(() => newTrainer({ dtype: 'float16' as never }), { message: /options\.dtype/ });
});
