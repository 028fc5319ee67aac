// Every training setting, declared once with its type, default, range and help. Defaults are the
// paper's where it gives one (REFERENCE §4); where it does not, the help says so. Configs are JSON
// files composed from `_base_` files and `--set a.b=c` overrides.
import { FELZENSZWALB_DEFAULTS, REGION_METHODS, SLIC_DEFAULTS } from '../data/regions';
import { DEFAULT_VIEWS } from '../data/views';
import { PAPER_NET } from '../net/paper-net';

export type FieldType = 'int' | 'number' | 'bool' | 'string' | 'int[]' | 'number[]' | 'bool[]' | 'string[]';

export interface Field {
  type: FieldType;
  default: unknown;
  help: string;
  min?: number;
  max?: number;
  values?: readonly string[];
  /** Fixed array length. */
  length?: number;
}

export const SCHEMA = {
  data: {
    kind: { type: 'string', default: 'world', values: ['world', 'voc', 'context', 'cocostuff', 'folder'], help: 'dataset layout of data.root' },
    root: { type: 'string', default: 'runs/world', help: 'dataset folder (VOCdevkit, converted Context/COCO-Stuff, a world, or any image folder)' },
    split: { type: 'string', default: 'train', help: "split list to train on ('train_aug' for VOC+SBD)" },
    images: { type: 'int', default: 0, min: 0, help: 'use only the first N images (0 = all)' },
    crop: { type: 'int', default: DEFAULT_VIEWS.size, min: 16, max: 4096, help: 'side of each augmented view (pixels)' },
    scale: { type: 'number[]', default: DEFAULT_VIEWS.scale, length: 2, min: 0.05, max: 1, help: 'random resized crop: area range as a fraction of the square of the image\'s shorter side (the square box lies anywhere in the image, whatever its aspect)' },
    regions: { type: 'int', default: 48, min: 2, max: 10000, help: 'SLIC superpixels per image (the regions of the positives)' },
    compactness: { type: 'number', default: SLIC_DEFAULTS.compactness, min: 0, help: 'SLIC compactness' },
    regionMethod: { type: 'string', default: 'slic', values: REGION_METHODS, help: 'how regions are computed: SLIC (data.regions, data.compactness) or Felzenszwalb graph segmentation (data.felzenszwalb*)' },
    felzenszwalbScale: { type: 'number', default: FELZENSZWALB_DEFAULTS.scale, min: 0, help: 'Felzenszwalb scale k (larger: fewer, bigger regions)' },
    felzenszwalbSigma: { type: 'number', default: FELZENSZWALB_DEFAULTS.sigma, min: 0, help: 'Felzenszwalb Gaussian pre-smoothing sigma (0 = none)' },
    felzenszwalbMinSize: { type: 'int', default: FELZENSZWALB_DEFAULTS.minSize, min: 1, help: 'Felzenszwalb smallest region (pixels)' },
    regionDir: { type: 'string', default: '', help: "folder of precomputed region PNGs, <name>.png per image <name>.* (8/16-bit grey or palette ids, or RGB id = R*65536+G*256+B); '' = compute with data.regionMethod" },
    resize: { type: 'int', default: 0, min: 0, help: 'resize images so the shorter side is this before everything else (0 = keep)' },
    cache: { type: 'string', default: '', help: "folder of the teacher-feature and region caches ('' = <out>/cache); both are keyed by what they depend on, so runs over the same images can share one" },
    memoryCache: { type: 'int', default: 256, min: 0, help: "MB of decoded training images and region maps kept in memory between batches (least recently used out; 0 = decode every sample per batch). Training's result does not depend on it" },
    strict: { type: 'bool', default: false, help: 'stop at the first unreadable image instead of skipping it with a warning' },
  },
  clip: {
    weights: { type: 'string', default: '', help: 'CLIP weights (OpenAI/HF safetensors or TorchScript); required' },
    vocab: { type: 'string', default: '', help: 'tokenizer file (default: beside the weights, else CLIP BPE)' },
    variant: { type: 'string', default: 'maskclip', values: ['maskclip', 'clearclip', 'sclip', 'naclip'], help: 'teacher dense-feature variant' },
    side: { type: 'int', default: 0, min: 0, max: 8192, help: "shorter side of the images CLIP sees for the teacher features (0 = the training image's own; larger gives finer features, e.g. a ResNet CLIP on small images)" },
    window: { type: 'int', default: 0, min: 0, max: 8192, help: "teacher features from sliding windows of this side (a multiple of CLIP's patch, e.g. its own resolution 224) over the images CLIP sees (after clip.side) that are larger than it, averaged where they overlap; 0 = each image whole (CLIP attends over every patch at once, which grows quadratically with the image)" },
    windowStride: { type: 'int', default: 0, min: 0, max: 8192, help: 'step between teacher windows, a multiple of the patch (0 = clip.window: no overlap; MaskCLIP slides 448/224 and 224/112)' },
    teacher: { type: 'string', default: 'clip', values: ['clip', 'oracle'], help: "'oracle' replaces CLIP's dense features by a degraded oracle from the labels (controlled experiments; needs a labelled dataset): text embedding of the true class per cell, clip.oracleCorruption of the cells in blobs of another class, noise clip.oracleNoise" },
    oracleCorruption: { type: 'number', default: 0.4, min: 0, max: 1, help: 'oracle teacher: fraction of cells given another class' },
    oracleNoise: { type: 'number', default: 0.1, min: 0, help: 'oracle teacher: standard deviation of the Gaussian noise before renormalising' },
  },
  model: {
    block: { type: 'string', default: PAPER_NET.block, values: ['bottleneck', 'basic'], help: 'ResNet block' },
    layers: { type: 'int[]', default: PAPER_NET.layers, length: 4, min: 1, help: 'blocks per layer (ResNet-50: 3,4,6,3)' },
    inner: { type: 'int[]', default: PAPER_NET.inner, length: 4, min: 1, help: '3x3 widths per layer' },
    out: { type: 'int[]', default: PAPER_NET.out, length: 4, min: 1, help: 'output widths per layer' },
    stem: { type: 'int', default: PAPER_NET.stem, min: 2, help: 'stem width' },
    deepStem: { type: 'bool', default: PAPER_NET.deepStem, help: 'three 3x3 stem convolutions instead of one 7x7' },
    dilation: { type: 'bool[]', default: PAPER_NET.dilation, length: 3, help: 'dilate layer2/3/4 instead of striding ([false,true,true] = output stride 8)' },
    headChannels: { type: 'int', default: PAPER_NET.headChannels, min: 1, help: 'PSPNet channels' },
    norm: { type: 'string', default: PAPER_NET.norm, values: ['bn', 'bn-eval', 'gn'], help: 'head normalisation (bn falls back to running statistics for single values)' },
    upsample: { type: 'bool', default: PAPER_NET.upsample, help: 'upsample embeddings x2 (output stride 4)' },
    backbone: { type: 'string', default: '', help: 'torchvision ResNet weights (safetensors) to initialise the backbone' },
  },
  train: {
    batch: { type: 'int', default: 8, min: 1, help: 'images per step (two views each)' },
    iterations: { type: 'int', default: 20000, min: 1, help: 'optimisation steps' },
    lr: { type: 'number', default: 1e-3, min: 0, help: 'initial learning rate (poly decay)' },
    power: { type: 'number', default: 0.9, min: 0, help: 'poly decay power' },
    momentum: { type: 'number', default: 0.9, min: 0, max: 1, help: 'SGD momentum' },
    weightDecay: { type: 'number', default: 1e-3, min: 0, help: 'SGD weight decay' },
    seed: { type: 'int', default: 0, min: 0, help: 'seed of initialisation and data order' },
    device: { type: 'string', default: 'cpu', help: "'cpu', 'cuda', 'cuda:N' or 'auto'" },
    mixedPrecision: { type: 'bool', default: false, help: 'bfloat16 autocast for the network forward pass (losses and optimiser stay float32)' },
    precision: { type: 'string', default: 'float32', values: ['float32', 'float64'], help: 'parameters, losses and SGD in float32, or float64 for numerical checks (checkpoints in float64; model.safetensors stays float32)' },
  },
  segments: {
    grid: { type: 'int[]', default: [6, 6], length: 2, min: 1, help: 'k-means grid initialisation (6x6 = 36 segments per view)' },
    kmeansIterations: { type: 'int', default: 10, min: 0, help: 'k-means iterations (0: the grid cells themselves, split by region)' },
    locationWeight: { type: 'number', default: 1, min: 0, help: 'weight of the (y, x) features in k-means' },
  },
  loss: {
    kappa: { type: 'number', default: 10, min: 1e-6, help: 'concentration of the contrastive loss' },
    bankBatches: { type: 'int', default: 2, min: 0, help: 'memory bank size in batches' },
    contrastive: { type: 'bool', default: true, help: 'L_t, pixel-segment contrastive loss' },
    embedding: { type: 'bool', default: true, help: 'L_e, embedding consistency with CLIP' },
    semantic: { type: 'bool', default: true, help: 'L_s, semantic consistency with the prototypes' },
    weightContrastive: { type: 'number', default: 1, min: 0, help: 'weight of L_t' },
    weightEmbedding: { type: 'number', default: 1, min: 0, help: 'weight of L_e' },
    weightSemantic: { type: 'number', default: 1, min: 0, help: 'weight of L_s' },
    temperature: { type: 'number', default: 0.1, min: 1e-6, help: 'temperature of softmax(cos(v, C)) in L_s (not in the paper, which writes none: 0.1 is ours, 1/kappa)' },
    maskclipPlus: { type: 'bool', default: false, help: 'MaskCLIP+ baseline: per-pixel pseudo-labels of the known classes, no other loss' },
    unknownLr: { type: 'number', default: 0.1, min: 0, help: 'step size of the unknown-prototype update (L_u)' },
  },
  prototypes: {
    known: { type: 'string[]', default: [], help: 'known class names (default: the dataset classes minus heldOut)' },
    heldOut: { type: 'string[]', default: [], help: 'classes kept unknown (never given to training), for class-free evaluation' },
    topM: { type: 'int', default: 32, min: 1, help: 'segments averaged per known prototype' },
    unknown: { type: 'int', default: 64, min: 0, help: 'unknown prototypes' },
    templates: { type: 'string[]', default: [], help: "prompt templates (default: CLIP's 85)" },
  },
  checkpoint: {
    every: { type: 'int', default: 1000, min: 1, help: 'save a checkpoint every N iterations (and on SIGINT/SIGTERM)' },
    keep: { type: 'int', default: 3, min: 1, help: 'checkpoints kept' },
  },
  log: {
    every: { type: 'int', default: 20, min: 1, help: 'progress line every N iterations' },
  },
} as const satisfies Record<string, Record<string, Field>>;

/** The value type a field declares: a string with `values` is their union. */
type ValueOf<F> = F extends { type: 'int' | 'number' }
  ? number
  : F extends { type: 'bool' }
    ? boolean
    : F extends { type: 'string'; values: readonly (infer V)[] }
      ? V
      : F extends { type: 'string' }
        ? string
        : F extends { type: 'int[]' | 'number[]' }
          ? number[]
          : F extends { type: 'bool[]' }
            ? boolean[]
            : string[];

/** A resolved config, typed from SCHEMA (the one declaration of every setting). */
export type Config = { -readonly [S in keyof typeof SCHEMA]: { -readonly [K in keyof (typeof SCHEMA)[S]]: ValueOf<(typeof SCHEMA)[S][K]> } };

/** The schema's sections and fields as plain records (for code that walks every setting). */
export const SCHEMA_FIELDS: Record<string, Record<string, Field>> = SCHEMA;

/** The schema as text (for --help). */
export function configHelp(): string {
  const lines: string[] = [];
  for (const [section, fields] of Object.entries(SCHEMA)) {
    lines.push(`${section}:`);
    for (const [k, f] of Object.entries(fields)) lines.push(`  ${`${section}.${k}`.padEnd(26)} ${f.type.padEnd(8)} ${JSON.stringify(f.default).padEnd(22)} ${f.help}${f.values ? ` (${f.values.join('|')})` : ''}`);
  }
  return lines.join('\n');
}
