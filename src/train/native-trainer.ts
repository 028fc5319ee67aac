// The native trainer: owns the network, SGD state, prototypes and memory bank; steps run off the
// main thread. Options are validated here and have no defaults (src/train/schema.ts declares every
// value once); batches are checked against each other's shapes before they are sent.
import type { NativeTrainerOptions } from '../binding';
import { invalidParameter } from '../errors';
import { call, native, type Handle, type StepMetrics, type TrainerState } from '../native';
import { checkTensor, type Tensor } from '../tensor';
import { boolean, integer, number, oneOf, optionsObject, onlyKeys, opt, string } from '../validate';

/**
 * Every trainer option, required: the values come from one place (src/train/schema.ts through
 * trainerOptions() in src/train/options.ts for a training run; tests spell theirs out).
 */
export type TrainerOptions = NativeTrainerOptions;

const keys = [
  'device', 'grid', 'kmeansIterations', 'locationWeight', 'kappa', 'bankBatches', 'contrastive', 'embedding', 'semantic',
  'maskclipPlus', 'weightContrastive', 'weightEmbedding', 'weightSemantic', 'semanticTemperature', 'lossImpl', 'momentum',
  'weightDecay', 'unknownLr', 'mixedPrecision', 'dtype', 'known', 'unknown', 'knownText', 'group',
] as const;

export interface TrainBatch {
  /** [2B,3,S,S] float32: view 1 of every image, then view 2. */
  images: Tensor<'float32'>;
  /** [2B,S,S] int32 region ids, unique within an image and shared by its two views. */
  regions: Tensor<'int32'>;
  /** [2B,S,S] uint8, 1 = padding/ignored. */
  ignore: Tensor<'uint8'>;
  /** [2B,E,s,s] float32 CLIP dense features transformed like each view. */
  clip: Tensor<'float32'>;
}

export function checkBatch(batch: TrainBatch): { pairs: number } {
  const dims = checkTensor('batch.images', batch.images, { dtype: 'float32', shape: ['V', 3, 'S', 'S2'] });
  checkTensor('batch.regions', batch.regions, { dtype: 'int32', shape: ['V', 'S', 'S2'] }, dims);
  checkTensor('batch.ignore', batch.ignore, { dtype: 'uint8', shape: ['V', 'S', 'S2'] }, dims);
  checkTensor('batch.clip', batch.clip, { dtype: 'float32', shape: ['V', null, null, null] }, dims);
  if (dims.V % 2 !== 0 || dims.V === 0) {
    throw checkTensorError(`Expected an even, non-zero number of views (two per image) for batch.images but received ${dims.V}`);
  }
  return { pairs: dims.V / 2 };
}

function checkTensorError(message: string): Error {
  const e = new RangeError(message) as RangeError & { code: string };
  e.code = 'ERR_CLIPS4_SHAPE';
  return e;
}

export class NativeTrainer {
  private constructor(private readonly handle: Handle) {}

  /** `model` is a native embedding-network handle (PixelEmbedder, or smallNet for tests). */
  static create(model: Handle, options: TrainerOptions): NativeTrainer {
    const o = optionsObject('options', options);
    onlyKeys('options', o, keys);
    const need = <T>(key: string, check: (name: string, v: unknown) => T): T => {
      if (o[key] === undefined) throw invalidParameter(`options.${key}`, 'a value (every trainer option is required: see trainerOptions() in src/train/options.ts)', undefined);
      return check(`options.${key}`, o[key]);
    };
    const pos = (n: string, v: unknown) => number(n, v, 0);
    const clean: NativeTrainerOptions = {
      device: need('device', string),
      grid: need('grid', (n, v) => {
        if (!Array.isArray(v) || v.length !== 2) throw checkTensorError(`Expected [gy, gx] for ${n}`);
        return [integer(`${n}[0]`, v[0], 1, 64), integer(`${n}[1]`, v[1], 1, 64)] as [number, number];
      }),
      kmeansIterations: need('kmeansIterations', (n, v) => integer(n, v, 0, 1000)),
      locationWeight: need('locationWeight', pos),
      kappa: need('kappa', (n, v) => number(n, v, 1e-6, 1e4)),
      bankBatches: need('bankBatches', (n, v) => integer(n, v, 0, 1000)),
      contrastive: need('contrastive', boolean),
      embedding: need('embedding', boolean),
      semantic: need('semantic', boolean),
      maskclipPlus: need('maskclipPlus', boolean),
      weightContrastive: need('weightContrastive', pos),
      weightEmbedding: need('weightEmbedding', pos),
      weightSemantic: need('weightSemantic', pos),
      semanticTemperature: need('semanticTemperature', (n, v) => number(n, v, 1e-6, 1e3)),
      lossImpl: need('lossImpl', (n, v) => oneOf(n, v, ['tiled', 'naive'] as const)),
      momentum: need('momentum', (n, v) => number(n, v, 0, 1)),
      weightDecay: need('weightDecay', pos),
      unknownLr: need('unknownLr', pos),
      mixedPrecision: need('mixedPrecision', boolean),
      dtype: need('dtype', (n, v) => oneOf(n, v, ['float32', 'float64'] as const)),
    };
    const dims: Record<string, number> = {};
    if (options.known !== undefined) clean.known = options.known, checkTensor('options.known', options.known, { dtype: 'float32', shape: ['K', 'E'] }, dims);
    if (options.unknown !== undefined) clean.unknown = options.unknown, checkTensor('options.unknown', options.unknown, { dtype: 'float32', shape: ['U', 'E'] }, dims);
    if (options.knownText !== undefined) clean.knownText = options.knownText, checkTensor('options.knownText', options.knownText, { dtype: 'float32', shape: ['K', 'E'] }, dims);
    if (options.group !== undefined) clean.group = options.group;
    if (clean.maskclipPlus && !clean.knownText) throw checkTensorError('The MaskCLIP+ baseline needs options.knownText (text embeddings of the known classes)');
    return new NativeTrainer(native().trainer.create(model, clean));
  }

  /**
   * One optimisation step at learning rate `lr`. In a data-parallel run `imageOffset` is the global
   * index of this rank's first image in the batch (region groups must be unique across ranks).
   */
  async step(batch: TrainBatch, lr: number, options: { imageOffset?: number } = {}): Promise<StepMetrics> {
    const { pairs } = checkBatch(batch);
    number('lr', lr, 0);
    const o = optionsObject('options', options);
    onlyKeys('options', o, ['imageOffset']);
    const imageOffset = opt(o, 'imageOffset', 0, (n, v) => integer(n, v, 0));
    return call(() => native().trainer.step(this.handle, { ...batch, pairs, imageOffset }, { lr }));
  }

  /** Everything a checkpoint must hold to continue exactly. */
  state(): Promise<TrainerState> {
    return call(() => native().trainer.state(this.handle));
  }

  restore(state: TrainerState): Promise<void> {
    return call(() => native().trainer.restore(this.handle, state));
  }
}

/** Poly learning-rate decay: lr · (1 − it/total)^power. */
export function polyLr(base: number, iteration: number, total: number, power: number): number {
  return base * Math.pow(Math.max(0, 1 - iteration / total), power);
}
