// The Segmenter: language-driven segmentation of any images with any class names. Inputs are
// decoded and resized (shorter side → `size`, sides rounded to the encoder's multiple), concurrent
// calls are micro-batched per processed size, and each image is classified at its input size.
import { Clip, type DenseVariant } from '../clip/clip';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';
import { CLIP_MEAN, CLIP_STD } from '../image/normalize';
import { PixelEmbedder } from '../net/embedder';
import { loadImage, type ImageInput, type RawImage } from '../image/load';
import { normalizeImages } from '../image/normalize';
import { resizeKeepAspect } from '../image/resize';
import { call, native } from '../native';
import { type Tensor } from '../tensor';
import { boolean, integer, number, optionsObject, onlyKeys, opt, string, stringArray } from '../validate';
import { MicroBatcher } from './batcher';
import type { Encoder, TextSide } from './encoder';

export interface SegmenterOptions {
  /** Processing size: the shorter side of each image before encoding (default 448). */
  size?: number;
  /**
   * Micro-batching: images per native call, how long a request may wait for others, batches at
   * once. The default batch is 4 on CUDA; on the CPU 4 up to size 256 and 1 above. Measured with
   * `npm run bench segment` (ViT-B/16 size, 2 cores): at 224² one image's products (197 rows) are
   * too small to keep the cores busy and a batch of 4 gave 1.30–1.39x the images/s of one image at
   * a time; at 448² one image (785 rows) already runs at the GEMM rate and a batch of 4 gave
   * 0.95–1.07x while holding every result back until the batch's last image. `maxWaitMs` 0 batches
   * only the requests made before the event loop turns: for callers that await each image before
   * asking for the next (the k-NN protocol, the linear probe, retrieval), which the default 5 ms
   * would only delay.
   */
  batchSize?: number;
  maxWaitMs?: number;
  concurrency?: number;
  device?: string;
}

export interface SegmenterLoadOptions extends SegmenterOptions {
  /** CLIP weights (OpenAI/HF safetensors or TorchScript). */
  clip: string;
  /** A trained CLIP-S4 embedder (safetensors with its JSON config); without it, MaskCLIP mode. */
  model?: string;
  vocab?: string;
  variant?: DenseVariant;
  window?: number;
  stride?: number;
}

export interface SegmentOptions {
  classes: string[];
  templates?: string[];
  /** A class name that takes label 0 (e.g. 'background'); other classes start at 1. */
  background?: string;
  /** Pixels whose best class probability is below this become background (or 255 without one). */
  threshold?: number;
  /** MaskCLIP prompt denoising: drop classes whose max probability in the image is below this. */
  denoise?: number;
  /** MaskCLIP key smoothing where the best class probability is below this (MaskCLIP mode, ViT or ResNet CLIP, no sliding window). */
  keySmoothing?: number;
  scores?: boolean;
}

export interface Segmentation {
  /** Class index per pixel at the input size (row-major); 255 = unassigned. */
  labels: Uint16Array;
  width: number;
  height: number;
  classes: string[];
  /** Per-class probabilities [C,H,W] when asked for. */
  scores?: Float32Array;
}

const segmenterKeys = ['size', 'batchSize', 'maxWaitMs', 'concurrency', 'device'] as const;
const segmentKeys = ['classes', 'templates', 'background', 'threshold', 'denoise', 'keySmoothing', 'scores'] as const;

interface Job {
  tensor: Tensor<'float32'>;
}

export class Segmenter {
  /**
   * A Segmenter over CLIP's dense features (MaskCLIP mode) or, with `model`, over a trained CLIP-S4
   * pixel embedder; CLIP's text encoder names the classes either way.
   */
  static async load(o: SegmenterLoadOptions): Promise<Segmenter> {
    const { clip: clipFile, model, vocab, variant, window, stride, ...rest } = o;
    if (model !== undefined) {
      // They choose how CLIP's own dense features are computed, which a trained embedder replaces.
      for (const [name, v] of [['variant', variant], ['window', window], ['stride', stride]] as const) {
        if (v !== undefined) throw invalidParameter(`options.${name}`, `no ${name} with options.model (MaskCLIP mode only)`, v);
      }
    }
    const clip = await Clip.load(clipFile, { device: rest.device, ...(vocab ? { vocab } : {}) });
    let encoder: Encoder;
    if (model) {
      const embedder = await PixelEmbedder.load(model, { device: rest.device });
      if (embedder.config.embedDim !== clip.info.embedDim) {
        throw clips4Error(ErrorCodes.weights, `${model} embeds into ${embedder.config.embedDim} dimensions but the CLIP ${clipFile} into ${clip.info.embedDim}: use the CLIP the model was trained with`);
      }
      // Inputs rounded to the network's own output stride (8 for the paper's, 16 or 32 with fewer dilations).
      encoder = { multipleOf: embedder.stride, mean: CLIP_MEAN, std: CLIP_STD, encode: (x) => embedder.embed(x) };
    } else {
      encoder = {
        multipleOf: clip.stride,
        mean: CLIP_MEAN,
        std: CLIP_STD,
        encode: (x) => clip.denseFeatures(x, { variant, window, stride }),
        ...(!window ? { keys: (x: Tensor<'float32'>) => clip.denseKeys(x) } : {}),
      };
    }
    return new Segmenter(encoder, clip, rest);
  }

  readonly size: number;
  readonly device: string;
  private readonly batcher: MicroBatcher<Job, Tensor<'float32'>>;

  constructor(
    readonly encoder: Encoder,
    readonly text: TextSide,
    options: SegmenterOptions = {},
  ) {
    const o = optionsObject('options', options);
    onlyKeys('options', o, segmenterKeys);
    this.size = opt(o, 'size', 448, (n, v) => integer(n, v, 16, 8192));
    this.device = opt(o, 'device', 'cpu', string);
    this.batcher = new MicroBatcher((jobs) => this.encodeBatch(jobs), {
      batchSize: opt(o, 'batchSize', (this.device === 'auto' ? native().runtime.checkDevice('auto') : this.device).startsWith('cuda') || this.size <= 256 ? 4 : 1, (n, v) => integer(n, v, 1, 1024)),
      maxWaitMs: opt(o, 'maxWaitMs', 5, (n, v) => number(n, v, 0, 60000)),
      concurrency: opt(o, 'concurrency', 1, (n, v) => integer(n, v, 1, 64)),
    });
  }

  /** Requests waiting to be batched, and batches running. */
  get queueLength(): number {
    return this.batcher.queueLength;
  }
  get inFlight(): number {
    return this.batcher.inFlight;
  }

  private async encodeBatch(jobs: Job[]): Promise<Tensor<'float32'>[]> {
    const [, c, h, w] = jobs[0].tensor.shape;
    const per = c * h * w;
    const batch: Tensor<'float32'> = { dtype: 'float32', shape: [jobs.length, c, h, w], data: new Float32Array(per * jobs.length) };
    jobs.forEach((j, i) => batch.data.set(j.tensor.data, i * per));
    const feats = await this.encoder.encode(batch);
    const [n, e, fh, fw] = feats.shape;
    if (n !== jobs.length) throw clips4Error(ErrorCodes.native, `encoder returned ${n} feature maps for ${jobs.length} images`);
    const fper = e * fh * fw;
    return jobs.map((_, i) => ({ dtype: 'float32', shape: [1, e, fh, fw], data: feats.data.slice(i * fper, (i + 1) * fper) }));
  }

  private async prepare(input: ImageInput): Promise<{ image: RawImage; tensor: Tensor<'float32'> }> {
    const image = await loadImage(input);
    const resized = await resizeKeepAspect(image, { shorter: this.size, multipleOf: this.encoder.multipleOf });
    return { image, tensor: normalizeImages([resized], { mean: this.encoder.mean, std: this.encoder.std }) };
  }

  /** Dense embeddings [1,E,h,w] of one image (micro-batched with concurrent calls). */
  async embed(input: ImageInput): Promise<Tensor<'float32'>> {
    const { tensor } = await this.prepare(input);
    return this.batcher.submit(tensor.shape.join('x'), { tensor });
  }

  /**
   * Segments one image or several (results in input order). The images of one call are batched the
   * same way every time; calls made concurrently may share batches (see SegmenterOptions.batchSize),
   * which can change a label where two classes score within float rounding of each other.
   */
  async segment(inputs: ImageInput, options: SegmentOptions): Promise<Segmentation>;
  async segment(inputs: ImageInput[], options: SegmentOptions): Promise<Segmentation[]>;
  async segment(inputs: ImageInput | ImageInput[], options: SegmentOptions): Promise<Segmentation | Segmentation[]> {
    const o = optionsObject('options', options);
    onlyKeys('options', o, segmentKeys);
    const classes = stringArray('options.classes', o.classes, 1);
    const templates = o.templates === undefined ? undefined : stringArray('options.templates', o.templates, 1);
    const background = o.background === undefined ? undefined : string('options.background', o.background);
    const threshold = o.threshold === undefined ? 0 : number('options.threshold', o.threshold, 0, 1);
    const denoise = o.denoise === undefined ? 0 : number('options.denoise', o.denoise, 0, 1);
    const smooth = o.keySmoothing === undefined ? 0 : number('options.keySmoothing', o.keySmoothing, 0, 1.01);
    if (smooth > 0 && !this.encoder.keys) throw invalidParameter('options.keySmoothing', 'no key smoothing (it needs MaskCLIP mode, without a trained model, and no sliding window)', smooth);
    const wantScores = o.scores === undefined ? false : boolean('options.scores', o.scores);
    const names = background ? [background, ...classes] : classes;
    if (new Set(names).size !== names.length) throw invalidParameter('options.classes', 'distinct class names', names.join(', '));
    const classifierPromise = this.text.textClassifier(names, templates ? { templates } : undefined);
    const many = Array.isArray(inputs);
    const list = many ? inputs : [inputs];
    // Every image is decoded and resized before any is submitted, so the images of one call form the
    // same batches however long each took to decode. A batch's size changes the rounding of its
    // products, and with it the odd pixel's label: submitted as each decode finished, an evaluation's
    // numbers depended on the machine's load.
    const prepared = await Promise.all(list.map((input) => this.prepare(input)));
    const results = await Promise.all(
      prepared.map(async ({ image, tensor }) => {
        const feats = await this.batcher.submit(tensor.shape.join('x'), { tensor });
        const classifier = await classifierPromise;
        const keys = smooth > 0 ? await this.encoder.keys!(tensor) : undefined;
        // Scores are CLIP's own softmax over the classes: its logit scale (100 for OpenAI's weights).
        const logitScale = await this.text.logitScale();
        const r = await call(() =>
          native().segment.classify(feats, classifier, { height: image.height, width: image.width, logitScale, denoiseThreshold: denoise, scores: wantScores || threshold > 0, device: this.device, keys, smoothThreshold: smooth }),
        );
        const labels = new Uint16Array(r.labels.data as Int32Array);
        if (threshold > 0 && r.scores) {
          const plane = image.width * image.height;
          const s = r.scores.data as Float32Array;
          for (let p = 0; p < plane; p++) {
            let best = 0;
            for (let c = 0; c < names.length; c++) best = Math.max(best, s[c * plane + p]);
            if (best < threshold) labels[p] = background ? 0 : 255;
          }
        }
        const out: Segmentation = { labels, width: image.width, height: image.height, classes: names };
        if (wantScores && r.scores) out.scores = r.scores.data as Float32Array;
        return out;
      }),
    );
    return many ? results : results[0];
  }
}
