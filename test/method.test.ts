// The method works, apart from the teacher's quality, on a small generated world with the controlled
// teacher (the degraded oracle of `clip.teacher: oracle`: each cell's true-class text embedding, 40%
// of the cells in blobs of another class, Gaussian noise σ), trained through runTraining with
// configs/world-small.json and evaluated with the Segmenter and the eval code, as the demo does.
// Three tests:
// - every loss drives training: L_t, L_e and L_s each end lower than in the same run (same seed,
//   same batches) with that loss's weight at 0. Switching a loss off in the code, dropping it from
//   the total, detaching it or flipping its sign fails this (each loss is still logged when its
//   weight is 0, so the control measures it untrained). A loss computed wrongly is what
//   train-step-reference.test.ts checks against a naive implementation of the paper's equations.
// - in under a minute (500 iterations), CLIP-S4 beats a very noisy controlled teacher (σ 1.0: known
//   mIoU ~6%) by a clear margin and matches it on the held-out classes. The margin comes from the
//   segment-level losses, not from averaging the noise away: distilling the teacher alone (L_e, with
//   L_t and L_s at weight 0) ends below it (known 5.1 vs 6.2, unknown 0.0 vs 4.3). Measured at
//   FAST_SCALE on this project's Intel Xeon, known / unknown against the teacher's: seeds 0-4 17.2 /
//   10.1, 17.1 / 10.8, 12.9 / 11.4, 13.8 / 10.9, 12.2 / 13.8 against 5.6-6.2 / 3.8-4.6 (+6.0 to
//   +11.3 known), avgsim 0.11 in each; with ATen, oneDNN and OpenBLAS held to AVX2 kernels (the
//   AVX2 machines' numeric path) seed 0 gave 17.0 / 10.7 against 6.2 / 4.3. Of single losses
//   switched off (seed 0), L_e fails it (unknown 1.8, avgsim 0.03); without L_t (11.5 / 8.4, +5.3)
//   or L_s (15.0 / 13.3) the student still beats this teacher, which is why the first test exists.
//   At σ 0.8 600 iterations gave +6.1 to +7.9 known (seeds 0-2); at σ 0.5 +3.5, at σ 0.3 below the
//   teacher.
// - CLIP-S4 beats a controlled teacher of a realistic quality (σ 0.1: known ~27%, the demo's p 0.4
//   row) by the same margin, which takes minutes of training. Of the losses switched off, this catches
//   L_e (the student drifts from the teacher's space: avgsim); without L_t or L_s the student still
//   beats this teacher at this scale (measured with 3×3 segments: 36.1 and 33.9 known vs the teacher's
//   26.5 and 25.7). With world-small.json's 4×4 segments, all losses on: known 38.9 and unknown
//   29.5 vs the teacher's 27.0 and 18.7, avgsim 0.67 (37.7 and 26.4 before the CPU kernels for L_t's
//   positives and the backbone's batch norm, 35.8 and 27.6 before the Winograd convs). Shorter
//   schedules do not show the margin over this teacher (its 2,000 iterations: 143 s in an ava run of 13
//   test files; 201 s on 2 threads alone before those kernels). 300 and 600 iterations on a 64-pixel
//   world (48-pixel views) gave known 11.8 and 16.4 vs the teacher's 25.6; 500 iterations at 96
//   pixels 22.1 vs 29.0. At this test's scale (teacher 27.0): 800 iterations 23.7; 400 at lr 0.05 or
//   0.1 12.1 / 12.6; 800 with L_e at 30 15.6; 800 with batch 4 15.4; a network of half the width,
//   1,200 iterations, 23.1 at 0.096 s per iteration against 0.10 (the step's time is not the
//   network's convs). Fewer blobs do not lower the bar faster than the student falls: with 60% of the
//   cells corrupted (teacher 15.4) 600 and 800 iterations gave 11.7 and 14.1; with 80% (teacher 6.5)
//   the student collapsed, 0.1 and 1.8 at 400 and 600 (most cells then name a wrong class, where
//   zero-mean noise leaves the true class the average). The student needs ~16k images' worth of steps
//   to beat a teacher this good, at ~0.1 s per batch of 8.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Clip } from '../src/clip/clip';
import { worldDataset } from '../src/data/datasets';
import { languageEvaluate } from '../src/eval/language';
import { Segmenter } from '../src/infer/segmenter';
import { getThreads, setThreads } from '../src/runtime';
import { resolveConfig } from '../src/train/config';
import { runTraining } from '../src/train/run';
import { generateWorld } from '../src/world';
import { UNKNOWN_FOLDS } from '../src/world/classes';
import { WORLD_TEMPLATES } from '../src/world/pretrain-clip';
import { oracleScores, trainingCurve } from '../src/world/reproduce';
import { readMetricRows } from '../src/plot/curves';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

/** A scale and controlled teacher at which CLIP-S4 must beat that teacher (measured: see the header). */
interface MarginScale {
  size: number;
  train: number;
  val: number;
  iterations: number;
  crop: number;
  /** The oracle teacher's Gaussian noise σ (its corruption is the schema's 0.4). */
  noise: number;
  /** The lowest avgsim with L_e on: L_e off leaves the student's segments outside the teacher's space. */
  avgsim: number;
}

/** Under a minute on this project's 2-core CPU (52 s alone): a very noisy teacher (avgsim 0.11 with L_e, 0.03 without). */
const FAST_SCALE: MarginScale = { size: 96, train: 800, val: 60, iterations: 500, crop: 64, noise: 1.0, avgsim: 0.07 };

/**
 * The smallest world and schedule at which the margin over a teacher of the demo's p 0.4 quality is
 * clear (avgsim 0.67 with L_e, 0.19 without; measured with the shipped world CLIP's text embeddings as
 * class codes; see the README's Results).
 */
const SCALE: MarginScale = { size: 96, train: 800, val: 60, iterations: 2000, crop: 64, noise: 0.1, avgsim: 0.5 };
/** Points of known mIoU over the teacher's (the demo's world gives +21.9 to +24.4 at 1,500 images and 4,500 iterations, +18.2 to +20.3 at 3,000). */
const MARGIN = 0.05;

/**
 * The loss test's scale: small enough for a minute of training in all, large enough that each loss's
 * own gradient shows (measured: see LOSS_DROP). Its 48-pixel views hold 6×6 student cells, so a 3×3
 * k-means grid keeps world-small.json's segment size (4×4 segments on a 64-pixel view's 8×8 cells:
 * 4 cells each); 4×4 segments of ~2 cells left L_t's own share at 9.2/1.5/1.7% (seeds 0/1/2).
 */
const LOSS_SCALE = { size: 64, train: 300, iterations: 300, crop: 48, grid: '[3,3]' };

/**
 * How much lower each loss must end (mean of the last tenth) than in the run without its gradient.
 * Measured at LOSS_SCALE, seeds 0/1/2: L_t 4.8/8.3/6.1% lower, L_e 50/51/55% lower, L_s 11.7/16/11.5% lower
 * (L_e, at weight 10, pulls every loss down, so the others' own share is the smaller part).
 */
const LOSS_DROP = { contrastive: 0.02, embedding: 0.25, semantic: 0.05 };

/** The world, config and run folder of a method test on the controlled teacher, with `sets` on top. */
async function controlledRun(dir: string, scale: Pick<MarginScale, 'size' | 'train' | 'val' | 'iterations' | 'crop'>, sets: string[]) {
  const world = path.join(dir, 'world');
  if (!fs.existsSync(path.join(world, 'world.json'))) await generateWorld({ out: world, seed: 3, train: scale.train, val: scale.val, size: scale.size, crops: 0 });
  const clipFile = path.join(repoRoot, 'data', 'world-clip', 'clip.safetensors');
  const fold = UNKNOWN_FOLDS[0];
  const { config } = resolveConfig(path.join(repoRoot, 'configs', 'world-small.json'), [
    `data.root=${world}`,
    `data.cache=${path.join(dir, 'cache')}`,
    `clip.weights=${clipFile}`,
    `clip.side=${scale.size * 4}`,
    'clip.teacher=oracle',
    'clip.oracleCorruption=0.4',
    `train.iterations=${scale.iterations}`,
    `data.images=${scale.train}`,
    `data.crop=${scale.crop}`,
    `checkpoint.every=${scale.iterations}`,
    `prototypes.heldOut=${JSON.stringify(fold)}`,
    // To see the tests fail when a loss is off: CLIPS4_METHOD_SETS='loss.contrastive=false' (space-separated).
    ...(process.env.CLIPS4_METHOD_SETS ? process.env.CLIPS4_METHOD_SETS.split(' ') : []),
    ...sets,
  ]);
  return { world, clipFile, fold, config };
}

/** One native thread while `fn` runs: training repeats exactly, so the numbers are this machine's, not a draw. */
function oneThread(t: ExecutionContext): void {
  const threads = getThreads();
  setThreads(1);
  t.teardown(() => setThreads(threads));
}

test.serial('every loss drives training: L_t, L_e and L_s each end lower than without their gradient', async (t) => {
  t.timeout(20 * 60_000);
  oneThread(t);
  const dir = tmpDir('clips4-losses-');
  const scale = { ...LOSS_SCALE, val: 1 };
  // The logged losses' mean over the last tenth of each run.
  const end = async (name: string, sets: string[]) => {
    const { config } = await controlledRun(dir, scale, [`segments.grid=${LOSS_SCALE.grid}`, ...sets]);
    const out = path.join(dir, name);
    await runTraining(config, { out, log: () => {} });
    const rows = readMetricRows(path.join(out, 'metrics.jsonl')) as { contrastive: number; embedding: number; semantic: number }[];
    const tail = rows.slice(Math.floor(rows.length * 0.9));
    const mean = (k: 'contrastive' | 'embedding' | 'semantic') => tail.reduce((a, r) => a + r[k], 0) / tail.length;
    return { contrastive: mean('contrastive'), embedding: mean('embedding'), semantic: mean('semantic') };
  };
  const full = await end('full', []);
  for (const [loss, weight, drop] of [
    ['contrastive', 'weightContrastive', LOSS_DROP.contrastive],
    ['embedding', 'weightEmbedding', LOSS_DROP.embedding],
    ['semantic', 'weightSemantic', LOSS_DROP.semantic],
  ] as const) {
    const control = await end(`no-${loss}`, [`loss.${weight}=0`]);
    const shown = `${loss}: ${full[loss].toFixed(3)} trained, ${control[loss].toFixed(3)} with loss.${weight}=0 (required: at most ${(1 - drop).toFixed(2)}×)`;
    t.log(shown);
    t.true(full[loss] > 0 && full[loss] <= control[loss] * (1 - drop), shown);
  }
});

/** Trains CLIP-S4 on the controlled teacher at `scale` and asserts it beats that teacher by MARGIN on known classes and matches it on unknown ones. */
async function beatsTeacher(t: ExecutionContext, scale: MarginScale): Promise<void> {
  oneThread(t);
  const dir = tmpDir('clips4-method-');
  const { world, clipFile, fold, config } = await controlledRun(dir, scale, [`clip.oracleNoise=${scale.noise}`]);
  const out = path.join(dir, 'run');
  await runTraining(config, { out, log: () => {} });

  const val = worldDataset(world, 'val');
  const unknownIdx = fold.map((n) => val.classes!.indexOf(n));
  const seg = await Segmenter.load({ clip: clipFile, model: path.join(out, 'model.safetensors'), size: scale.size });
  const student = (await languageEvaluate(seg, val, { templates: WORLD_TEMPLATES })).cm.classFree(unknownIdx);
  const teacher = await oracleScores(config, await Clip.load(clipFile), val, unknownIdx);
  const { avgsim, loss } = trainingCurve(out);
  const shown = `student known ${student.known.toFixed(3)} unknown ${student.unknown.toFixed(3)}; teacher known ${teacher.known.toFixed(3)} unknown ${teacher.unknown.toFixed(3)}; avgsim ${avgsim?.toFixed(3)}; loss ${JSON.stringify(loss)}`;
  t.log(shown);
  t.true(student.known >= teacher.known + MARGIN, shown);
  t.true(student.unknown >= teacher.unknown, shown);
  // L_e keeps the student's segments in the teacher's space.
  t.true(avgsim! >= scale.avgsim, shown);
}

test.serial('CLIP-S4 beats a very noisy controlled teacher (p 0.4, σ 1.0) in 500 iterations', async (t) => {
  t.timeout(10 * 60_000);
  await beatsTeacher(t, FAST_SCALE);
});

test.serial('CLIP-S4 beats its controlled teacher (p 0.4, σ 0.1) on known classes and matches it on unknown ones', async (t) => {
  // Minutes of training on a 2-core CPU (more with other test files beside it): beyond the suite's
  // 5-minute inactivity timeout, which is for tests that hang.
  t.timeout(30 * 60_000);
  await beatsTeacher(t, SCALE);
});
