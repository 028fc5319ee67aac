// The native trainer: owns the network, SGD state, prototypes and memory bank; steps run off the
// main thread. Options are validated here (the schema in src/train/config holds the defaults used
// by the training job); batches are checked against each other's shapes before they are sent.
import { call, native, type Handle, type StepMetrics, type TrainerState } from '../native';
import { checkTensor, type Tensor } from '../tensor';
import { boolean, integer, number, oneOf, optionsObject, onlyKeys, opt, string } from '../validate';

export interface TrainerOptions {
  device?: string;
  grid?: [number, number];
  kmeansIterations?: number;
  locationWeight?: number;
  kappa?: number;
  bankBatches?: number;
  contrastive?: boolean;
  embedding?: boolean;
  semantic?: boolean;
  maskclipPlus?: boolean;
  weightContrastive?: number;
  weightEmbedding?: number;
  weightSemantic?: number;
  semanticTemperature?: number;
  lossImpl?: 'tiled' | 'naive';
  momentum?: number;
  weightDecay?: number;
  unknownLr?: number;
  /** bfloat16 autocast for the network's forward pass (losses, k-means and SGD stay float32). */
  mixedPrecision?: boolean;
  /** Parameters, losses and SGD in float32, or float64 (numerical checks: checkpoints are then float64). */
  dtype?: 'float32' | 'float64';
  /** Known-class prototypes [K,E] (CLIP image space), unknown prototypes [U,E], known text embeddings [K,E]. */
  known?: Tensor<'float32'>;
  unknown?: Tensor<'float32'>;
  knownText?: Tensor<'float32'>;
  /** A data-parallel process group (ProcessGroup.handle): gradients, batch-norm statistics, segments
   *  and the memory bank are shared with the other ranks; each rank steps on its slice of the batch. */
  group?: Handle;
}

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
  static create(model: Handle, options: TrainerOptions = {}): NativeTrainer {
    const o = optionsObject('options', options);
    onlyKeys('options', o, keys);
    const pos = (n: string, v: unknown) => number(n, v, 0);
    const clean: Record<string, unknown> = {
      device: opt(o, 'device', 'cpu', string),
      grid: opt(o, 'grid', [6, 6], (n, v) => {
        if (!Array.isArray(v) || v.length !== 2) throw checkTensorError(`Expected [gy, gx] for ${n}`);
        return [integer(`${n}[0]`, v[0], 1, 64), integer(`${n}[1]`, v[1], 1, 64)];
      }),
      kmeansIterations: opt(o, 'kmeansIterations', 10, (n, v) => integer(n, v, 0, 1000)),
      locationWeight: opt(o, 'locationWeight', 1, pos),
      kappa: opt(o, 'kappa', 10, (n, v) => number(n, v, 1e-6, 1e4)),
      bankBatches: opt(o, 'bankBatches', 2, (n, v) => integer(n, v, 0, 1000)),
      contrastive: opt(o, 'contrastive', true, boolean),
      embedding: opt(o, 'embedding', true, boolean),
      semantic: opt(o, 'semantic', true, boolean),
      maskclipPlus: opt(o, 'maskclipPlus', false, boolean),
      weightContrastive: opt(o, 'weightContrastive', 1, pos),
      weightEmbedding: opt(o, 'weightEmbedding', 1, pos),
      weightSemantic: opt(o, 'weightSemantic', 1, pos),
      semanticTemperature: opt(o, 'semanticTemperature', 0.1, (n, v) => number(n, v, 1e-6, 1e3)),
      lossImpl: opt(o, 'lossImpl', 'tiled', (n, v) => oneOf(n, v, ['tiled', 'naive'] as const)),
      momentum: opt(o, 'momentum', 0.9, (n, v) => number(n, v, 0, 1)),
      weightDecay: opt(o, 'weightDecay', 1e-3, pos),
      unknownLr: opt(o, 'unknownLr', 0.1, pos),
      mixedPrecision: opt(o, 'mixedPrecision', false, boolean),
      dtype: opt(o, 'dtype', 'float32', (n, v) => oneOf(n, v, ['float32', 'float64'] as const)),
    };
    const dims: Record<string, number> = {};
    if (o.known !== undefined) clean.known = o.known, checkTensor('options.known', o.known, { dtype: 'float32', shape: ['K', 'E'] }, dims);
    if (o.unknown !== undefined) clean.unknown = o.unknown, checkTensor('options.unknown', o.unknown, { dtype: 'float32', shape: ['U', 'E'] }, dims);
    if (o.knownText !== undefined) clean.knownText = o.knownText, checkTensor('options.knownText', o.knownText, { dtype: 'float32', shape: ['K', 'E'] }, dims);
    if (o.group !== undefined) clean.group = o.group;
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
export function polyLr(base: number, iteration: number, total: number, power = 0.9): number {
  return base * Math.pow(Math.max(0, 1 - iteration / total), power);
}
