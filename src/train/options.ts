// The one mapping from a resolved config to what the training machinery takes: the native trainer's
// options, the network and the augmented views. Every value comes from the config (src/train/schema.ts
// declares each once with its default); nothing below adds a default of its own.
import type { Handle, NativeTrainerOptions } from '../binding';
import { DEFAULT_VIEWS, type ViewOptions } from '../data/views';
import type { NetConfig } from '../binding';
import { PAPER_NET } from '../net/paper-net';
import type { Tensor } from '../tensor';
import type { Config } from './schema';

/**
 * L_t's implementation: 'tiled' bounds memory by computing the pixel-segment similarities a tile at
 * a time; 'naive' is the reference the kernel tests compare it with. Not a setting: both give the
 * same loss and gradients.
 */
const LOSS_IMPL = 'tiled';

export interface TrainerInputs {
  /** Known-class prototypes [K,E], unknown prototypes [U,E], known classes' text embeddings [K,E]. */
  known?: Tensor<'float32'>;
  unknown?: Tensor<'float32'>;
  knownText?: Tensor<'float32'>;
  /** A data-parallel process group (ProcessGroup.handle). */
  group?: Handle;
}

export function trainerOptions(c: Config, inputs: TrainerInputs = {}): NativeTrainerOptions {
  const { segments: s, loss: l, train: t } = c;
  return {
    device: t.device,
    grid: [s.grid[0], s.grid[1]],
    kmeansIterations: s.kmeansIterations,
    locationWeight: s.locationWeight,
    kappa: l.kappa,
    bankBatches: l.bankBatches,
    contrastive: l.contrastive,
    embedding: l.embedding,
    semantic: l.semantic,
    maskclipPlus: l.maskclipPlus,
    weightContrastive: l.weightContrastive,
    weightEmbedding: l.weightEmbedding,
    weightSemantic: l.weightSemantic,
    semanticTemperature: l.temperature,
    unknownLr: l.unknownLr,
    lossImpl: LOSS_IMPL,
    momentum: t.momentum,
    weightDecay: t.weightDecay,
    mixedPrecision: t.mixedPrecision,
    dtype: t.precision,
    ...(inputs.known ? { known: inputs.known } : {}),
    ...(inputs.unknown ? { unknown: inputs.unknown } : {}),
    ...(inputs.knownText ? { knownText: inputs.knownText } : {}),
    ...(inputs.group ? { group: inputs.group } : {}),
  };
}

/** The embedding network of `model.*` (without the backbone weights file), projecting to CLIP's `embedDim`; PSPNet's pyramid bins are the paper's (not a setting). */
export function netConfig(c: Config, embedDim: number): NetConfig {
  const m = c.model;
  return { block: m.block, layers: m.layers, inner: m.inner, out: m.out, stem: m.stem, deepStem: m.deepStem, dilation: m.dilation, headChannels: m.headChannels, norm: m.norm, upsample: m.upsample, bins: PAPER_NET.bins, embedDim };
}

/** The two augmented views of each image: `data.crop` square crops at `data.scale`, the network's output stride. */
export function viewOptions(c: Config, stride: number): ViewOptions {
  return { ...DEFAULT_VIEWS, size: c.data.crop, scale: [c.data.scale[0], c.data.scale[1]], stride };
}
