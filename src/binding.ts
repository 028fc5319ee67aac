// The addon's exports, described once (types only): each namespace mirrors one native/src/*.cc
// file's CLIPS4_MODULE registration. The loader (native.ts) and the wrappers import these types;
// this module imports nothing at run time, so no module cycle goes through it. Option objects are
// complete: the native side has no defaults and throws a TypeError naming a missing key.
import type { Tensor } from './tensor';

/** Opaque handle to a native object (model, trainer state…); only native code reads it. */
export type Handle = { readonly __clips4Handle: unique symbol };

export interface ClipInfo {
  kind: 'vit' | 'resnet';
  embedDim: number;
  imageResolution: number;
  visionWidth: number;
  visionHeads: number;
  visionLayers?: number;
  patchSize?: number;
  resnetLayers?: number[];
  contextLength: number;
  vocabSize: number;
  textWidth: number;
  textHeads: number;
  textLayers: number;
}

export type DenseVariant = 'maskclip' | 'clearclip' | 'sclip' | 'naclip';

/** What `clip.create` builds: every size of the architecture (a ResNet ignores visionLayers and patchSize, a ViT resnetLayers). */
export interface ClipArchitecture {
  kind: 'vit' | 'resnet';
  embedDim: number;
  imageResolution: number;
  visionWidth: number;
  visionLayers: number;
  patchSize: number;
  resnetLayers: number[];
  contextLength: number;
  vocabSize: number;
  textWidth: number;
  textLayers: number;
}

export interface ClipBinding {
  load(weights: Record<string, Tensor>, options: { device: string; dtype: string; openaiRounding: boolean }): Promise<{ handle: Handle; info: ClipInfo }>;
  create(config: ClipArchitecture, options: { device: string; seed: number }): Promise<{ handle: Handle; info: ClipInfo }>;
  encodeImage(clip: Handle, images: Tensor): Promise<Tensor<'float32'>>;
  encodeText(clip: Handle, tokens: Tensor): Promise<Tensor<'float32'>>;
  denseFeatures(clip: Handle, images: Tensor, options: { variant: string; window: number; stride: number; attention: boolean }): Promise<{ features: Tensor<'float32'>; attention?: Tensor<'float32'> }>;
  stateDict(clip: Handle): Promise<Record<string, Tensor<'float32'>>>;
  /** exp(logit_scale) capped at 100: the temperature of CLIP's own softmax over classes. */
  logitScale(clip: Handle): Promise<number>;
  trainStep(clip: Handle, images: Tensor, tokens: Tensor, options: { lr: number; weightDecay: number }): Promise<{ loss: number; accuracy: number }>;
  readTorchScript(file: string): Promise<Record<string, Tensor<'float32'>>>;
  keys(clip: Handle, images: Tensor): Promise<Tensor<'float32'>>;
  writeTorchScript(file: string, weights: Record<string, Tensor>): Promise<void>;
}

export interface NetConfig {
  block: 'bottleneck' | 'basic';
  layers: number[];
  /** 3×3 widths per layer (torchvision: planes × width_per_group / 64). */
  inner: number[];
  /** Output widths per layer (Bottleneck: planes × 4). */
  out: number[];
  stem: number;
  deepStem: boolean;
  /** Replace the stride of layer2/3/4 by dilation: [false, true, true] = output stride 8. */
  dilation: boolean[];
  headChannels: number;
  bins: number[];
  norm: 'bn' | 'bn-eval' | 'gn';
  upsample: boolean;
  embedDim: number;
}

export interface NetBinding {
  create(config: NetConfig, options: { seed: number; device: string }): Handle;
  /** The backbone's part of the config, as a torchvision state dict determines it. */
  inferResNet(weights: Record<string, Tensor>): Pick<NetConfig, 'block' | 'layers' | 'inner' | 'out' | 'stem' | 'deepStem'>;
  loadBackbone(net: Handle, weights: Record<string, Tensor>): Promise<void>;
  load(net: Handle, weights: Record<string, Tensor>): Promise<void>;
  stateDict(net: Handle): Promise<Record<string, Tensor>>;
  embed(net: Handle, images: Tensor): Promise<Tensor<'float32'>>;
  features(net: Handle, images: Tensor): Promise<Record<'layer1' | 'layer2' | 'layer3' | 'layer4', Tensor<'float32'>>>;
  /**
   * One 3×3 conv of the embedder's kind (stride 1, padding = dilation, no bias) and its gradients for
   * the upstream gradient `gy`, through the Winograd path where it applies or LibTorch's conv2d
   * (native/src/winograd_conv.h). For tests: no entry point exports it.
   */
  conv3x3(x: Tensor, w: Tensor, gy: Tensor, options: { dilation: number; winograd: boolean }): Promise<Record<'y' | 'gx' | 'gw', Tensor>>;
  /**
   * One training-mode batch norm (running statistics updated on copies) and its gradients for the
   * upstream gradient `gy`, through the backbone's CPU kernel (`clips4`, native/src/batch_norm_cpu.h)
   * or LibTorch's batch_norm. For tests: no entry point exports it.
   */
  batchNorm(x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, gy: Tensor, options: { momentum: number; eps: number; clips4: boolean }): Promise<Record<'y' | 'gx' | 'gw' | 'gb' | 'runningMean' | 'runningVar', Tensor>>;
  /**
   * The PSPNet head's bottleneck: conv3x3 (padding 1, no bias) of [x, each pooled map bilinearly
   * upsampled to x's size] and its gradients (`gp<i>` for pooled[i]), through the split product
   * (`split`) or over the concatenated maps (native/src/pyramid_conv.h). For tests: no entry point exports it.
   */
  pyramidConv3x3(x: Tensor, pooled: Tensor[], w: Tensor, gy: Tensor, options: { split: boolean; winograd: boolean }): Promise<Record<string, Tensor>>;
}

export interface KernelsBinding {
  sphericalKMeans(emb: Tensor, options: { grid: number[]; iterations: number; locationWeight: number; ignore?: Tensor; device: string; impl: string }): Promise<{ labels: Tensor<'int32'>; centroids: Tensor<'float32'> }>;
  splitByRegion(labels: Tensor, regions: Tensor): Promise<{ segments: Tensor<'int32'>; count: number }>;
  segmentMeans(features: Tensor, segments: Tensor): Promise<{ means: Tensor<'float32'>; image: Tensor<'int32'> }>;
  pixelSegmentLoss(o: { embeddings: Tensor; pixelGroup: Tensor; pixelSegment: Tensor; segments: Tensor; segmentGroup: Tensor; bank?: Tensor; kappa: number; impl: string; tile: number }): Promise<{ loss: number; gradEmbeddings: Tensor<'float32'>; gradSegments: Tensor<'float32'> }>;
  embeddingLoss(o: { segments: Tensor; clipSegments: Tensor }): Promise<{ loss: number; gradSegments: Tensor<'float32'> }>;
  semanticLoss(o: { segments: Tensor; clipSegments: Tensor; prototypes: Tensor; temperature: number }): Promise<{ loss: number; labels: Tensor<'int32'>; gradSegments: Tensor<'float32'> }>;
  unknownPrototypeLoss(o: { unknown: Tensor; clipSegments: Tensor; labels: Tensor; known: number }): Promise<{ loss: number; gradUnknown: Tensor<'float32'>; count: number }>;
  knownPrototypes(clipSegments: Tensor, text: Tensor, o: { m: number; logitScale: number }): Promise<Tensor<'float32'>>;
  knownPrototypeSegments(clipSegments: Tensor, text: Tensor, o: { m: number; logitScale: number }): Promise<Tensor<'int32'>>;
  bankCreate(batches: number): BankHandle;
  bankPush(bank: BankHandle, segments: Tensor): void;
  bankAll(bank: BankHandle, dim: number): Tensor<'float32'>;
}

/** An opaque native memory bank. */
export type BankHandle = { readonly __brand: 'MemoryBank' };

export interface RegionsBinding {
  slic(image: Tensor<'uint8'>, options: { segments: number; compactness: number; iterations: number }): Promise<Tensor<'int32'>>;
  felzenszwalb(image: Tensor<'uint8'>, options: { scale: number; sigma: number; minSize: number }): Promise<Tensor<'int32'>>;
}

export interface ViewsBinding {
  /**
   * Renders a batch's views (src/data/views.ts draws `params`, one row of VIEW_PARAMS per view):
   * crop-resize, photometric, normalisation, and the same geometry applied to regions and features.
   */
  render(
    sources: { image: Tensor<'uint8'>; regions: Tensor<'int32'>; clip: Tensor<'float32'> }[],
    params: Tensor<'float64'>,
    options: { size: number; cells: number; mean: number[]; std: number[] },
  ): Promise<{ images: Tensor<'float32'>; regions: Tensor<'int32'>; clip: Tensor<'float32'> }>;
}

export interface RuntimeBinding {
  versions(): {
    torch: string;
    torchSource: string;
    cxx11Abi: boolean;
    napi: number;
    cuda: boolean;
    cudaDevices: number;
    distributed: boolean;
    /** The embedder's 3×3 convs: "winograd (oneDNN <kernel>)", "off (...)", "unavailable (...)" or "not built (...)". */
    convolutions: string;
    /** The SGD update of float32 parameters on the CPU: "one pass per float32 parameter", or why ATen's ops run (native/src/sgd_cpu.h). */
    sgd: string;
  };
  showConfig(): string;
  /** OpenBLAS's kernel set (openblas_get_corename), or null when LibTorch's BLAS is not OpenBLAS. */
  blasCore(): string | null;
  /**
   * OpenBLAS's threading ('pthreads', 'openmp', 'sequential'), its thread count when loaded, and
   * whether clips4 limited a pthreads build to one thread (fork safety, native/src/runtime.cc);
   * null when LibTorch's BLAS is not OpenBLAS.
   */
  blasThreading(): { parallel: string; threadsBefore: number; limited: boolean } | null;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** The intra-op thread count native work runs with, read on a worker thread. */
  workerThreads(): Promise<number>;
  /** Validates a device string; returns LibTorch's name for it. Throws ERR_CLIPS4_NO_CUDA. */
  checkDevice(device: string): string;
  matmul(a: Tensor, b: Tensor, options: { device: string }): Promise<Tensor<'float32'>>;
  sgemm(options: { n: number; iterations: number; device: string }): Promise<{ seconds: number; gflops: number }>;
  /** The caching CPU allocator (native/src/cpu_cache.cc): free large blocks kept for reuse. */
  cpuCache(): { enabled: boolean; cachedBytes: number; hits: number; misses: number };
  emptyCpuCache(): void;
}

export interface TrainerBinding {
  create(model: Handle, options: NativeTrainerOptions): Handle;
  /** A two-convolution embedding network for tests and smoke configs. */
  smallNet(options: { width: number; dim: number; seed: number }): Handle;
  step(trainer: Handle, batch: { images: Tensor; regions: Tensor; ignore: Tensor; clip: Tensor; pairs: number; imageOffset: number }, options: { lr: number }): Promise<StepMetrics>;
  state(trainer: Handle): Promise<TrainerState>;
  restore(trainer: Handle, state: TrainerState): Promise<void>;
}

/** Every option of `trainer.create` (src/train/native-trainer.ts validates them; run.ts maps the config). */
export interface NativeTrainerOptions {
  device: string;
  grid: [number, number];
  kmeansIterations: number;
  locationWeight: number;
  kappa: number;
  bankBatches: number;
  contrastive: boolean;
  embedding: boolean;
  semantic: boolean;
  maskclipPlus: boolean;
  weightContrastive: number;
  weightEmbedding: number;
  weightSemantic: number;
  semanticTemperature: number;
  unknownLr: number;
  lossImpl: 'tiled' | 'naive';
  momentum: number;
  weightDecay: number;
  mixedPrecision: boolean;
  dtype: 'float32' | 'float64';
  known?: Tensor<'float32'>;
  unknown?: Tensor<'float32'>;
  knownText?: Tensor<'float32'>;
  group?: Handle;
}

export interface StepMetrics {
  iteration: number;
  loss: number;
  contrastive: number;
  embedding: number;
  semantic: number;
  unknown: number;
  avgsim: number;
  segments: number;
  seconds: number;
}

export interface TrainerState {
  model: Record<string, Tensor>;
  momentum: Record<string, Tensor>;
  extra: Record<string, Tensor>;
  iteration: number;
}

export interface SegmentBinding {
  /** features [N,E,h,w] · classifier [C,E] (both normalised inside) → labels int32 [N,H,W] (+ softmax scores [N,C,H,W]). */
  classify(
    features: Tensor,
    classifier: Tensor,
    options: { height: number; width: number; logitScale: number; denoiseThreshold: number; scores: boolean; device: string; keys?: Tensor; smoothThreshold: number },
  ): Promise<{ labels: Tensor<'int32'>; scores?: Tensor<'float32'> }>;
}

/** Present when LibTorch has c10d + Gloo (versions().distributed). */
export interface DistBinding {
  /** Rendezvous at addr:port (rank 0 hosts the store) and create a Gloo process group. */
  init(options: { rank: number; worldSize: number; addr: string; port: number; timeoutMs: number }): Promise<Handle>;
  /** Element-wise sum over all ranks. */
  allReduce(group: Handle, tensor: Tensor): Promise<Tensor>;
}

export interface Binding {
  runtime: RuntimeBinding;
  segment: SegmentBinding;
  trainer: TrainerBinding;
  clip: ClipBinding;
  net: NetBinding;
  kernels: KernelsBinding;
  regions: RegionsBinding;
  views: ViewsBinding;
  dist?: DistBinding;
}
