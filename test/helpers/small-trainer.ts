// The small training scenario train-step-reference.test.ts checks step by step, shared with its
// child process (sgd-child.ts): smallNet, two views per image of Voronoi regions, random teacher
// features and prototypes, every trainer option from the schema but the few named here.
import { native } from '../../src/native';
import { makeRng } from '../../src/rng';
import { defaultConfig } from '../../src/train/config';
import { NativeTrainer, type TrainBatch, type TrainerOptions } from '../../src/train/native-trainer';
import { trainerOptions } from '../../src/train/options';
import { float32, zeros, type Tensor } from '../../src/tensor';

export const PAIRS = 2;
export const VIEWS = 2 * PAIRS;
export const S = 24; // image side; the embeddings are S/4 (two stride-2 convolutions)
export const H = S / 4;
export const E = 8; // embedding = teacher dimension
export const WIDTH = 6; // smallNet's hidden channels
export const REGIONS = 3; // per image, ids 0..2 in every image: only the image index tells them apart
export const KNOWN = 2;
export const UNKNOWN = 2;
// A non-square grid catches a swapped (gy, gx); distinct loss weights catch weights mixed up
// (the schema's are all 1). Everything else is the schema's default.
export const CONFIG = defaultConfig(['segments.grid=[2,3]', 'loss.weightContrastive=0.7', 'loss.weightEmbedding=1.3', 'loss.weightSemantic=0.4']);
export const OPTIONS = { ...trainerOptions(CONFIG), dtype: 'float64' as const };
/** The learning rates of the scenario's steps. */
export const LR = [0.05, 0.03];

// ---- the batch -------------------------------------------------------------------------------

// Two views of each image (view 1 of every image, then view 2); the second view is the mirror
// image, so each region sits at different pixels in the two views. Regions are Voronoi cells of
// random points; the last view has a padding strip (ignored) on its right.
export function makeBatch(seed: number): TrainBatch {
  const r = makeRng(seed);
  const images = zeros('float32', [VIEWS, 3, S, S]);
  const regions = zeros('int32', [VIEWS, S, S]);
  const ignore = zeros('uint8', [VIEWS, S, S]);
  const clip = zeros('float32', [VIEWS, E, H, H]);
  for (let i = 0; i < images.data.length; i++) images.data[i] = r.range(-1, 1);
  for (let i = 0; i < clip.data.length; i++) clip.data[i] = r.range(-1, 1);
  for (let b = 0; b < PAIRS; b++) {
    const centres = Array.from({ length: REGIONS }, () => [r.range(0, S), r.range(0, S)]);
    const regionAt = (y: number, x: number) => {
      const d = centres.map(([cy, cx]) => (y - cy) ** 2 + (x - cx) ** 2);
      return d.indexOf(Math.min(...d));
    };
    for (let view = 0; view < 2; view++) {
      const v = view * PAIRS + b;
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) regions.data[(v * S + y) * S + x] = regionAt(y, view === 1 ? S - 1 - x : x);
    }
  }
  for (let y = 0; y < S; y++) for (let x = S - 5; x < S; x++) ignore.data[((VIEWS - 1) * S + y) * S + x] = 1;
  return { images, regions, ignore, clip };
}

function prototypes(seed: number, rows: number): Tensor<'float32'> {
  const r = makeRng(seed);
  return float32([rows, E], Array.from({ length: rows * E }, () => r.range(-1, 1)));
}

export const KNOWN_PROTOTYPES = prototypes(11, KNOWN);
export const UNKNOWN_PROTOTYPES = prototypes(12, UNKNOWN);

export function newTrainer(options: Partial<TrainerOptions> = {}): NativeTrainer {
  const net = native().trainer.smallNet({ width: WIDTH, dim: E, seed: 5 });
  return NativeTrainer.create(net, { ...OPTIONS, ...options, known: KNOWN_PROTOTYPES, unknown: UNKNOWN_PROTOTYPES });
}
