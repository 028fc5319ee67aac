// The Clip class: load OpenAI/Hugging Face/TorchScript CLIP weights (or a small CLIP trained by the
// project), encode images and texts, build prompt-ensemble text classifiers, and compute dense
// per-patch features (MaskCLIP and the training-free variants).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';
import type { ClipArchitecture, ClipInfo, DenseVariant, Handle } from '../binding';
import { call, native } from '../native';

export type { ClipBinding, ClipInfo, DenseVariant } from '../binding';
import * as safetensors from '../safetensors';
import { checkTensor, toFloat16, type Tensor } from '../tensor';
import { boolean, integer, oneOf, optionsObject, onlyKeys, opt, string, stringArray } from '../validate';
import { resolveDevice } from '../runtime';
import { loadImage, type ImageInput } from '../image/load';
import { normalizeImages, CLIP_MEAN, CLIP_STD, type Normalization } from '../image/normalize';
import { resizeKeepAspect, resizeShorterCenterCrop } from '../image/resize';
import { fromHuggingFace, isHuggingFaceClip } from './hf';
import { promptTemplates } from './templates';
import { loadTokenizer, tokenize, trimPadding, defaultTokenizer, type Tokenizer } from './tokenizer';

/** OpenAI's ViT-B/16 (the paper's teacher): the sizes Clip.create takes when not given. */
export const CLIP_VIT_B16: Omit<ClipArchitecture, 'vocabSize'> = {
  kind: 'vit',
  embedDim: 512,
  imageResolution: 224,
  visionWidth: 768,
  visionLayers: 12,
  patchSize: 16,
  resnetLayers: [],
  contextLength: 77,
  textWidth: 512,
  textLayers: 12,
};



export interface ClipLoadOptions {
  device?: string;
  dtype?: 'float32' | 'float16';
  /** Tokenizer: a BPE .txt.gz, a Hugging Face folder, a word-vocab JSON, or a Tokenizer. Default: a
   *  `<weights>.tokenizer.json` beside the weights, else CLIP's BPE. */
  vocab?: string | Tokenizer;
  /** Round weights as OpenAI's build_model does before running in float32 (default true). */
  openaiRounding?: boolean;
}


/** Reads CLIP weights from safetensors (OpenAI or HF keys) or an OpenAI TorchScript archive. */
export async function readClipWeights(file: string): Promise<Record<string, Tensor>> {
  if (!fs.existsSync(file)) throw clips4Error(ErrorCodes.file, `Cannot read CLIP weights ${file}: no such file`);
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  let sd: Record<string, Tensor>;
  if (head[0] === 0x50 && head[1] === 0x4b) {
    // A zip archive: TorchScript (OpenAI's ViT-B-16.pt, RN50.pt).
    sd = await call(() => native().clip.readTorchScript(file));
  } else {
    sd = await safetensors.read(file, { upcast: true });
  }
  for (const [k, t] of Object.entries(sd)) {
    if (t.dtype !== 'float32') throw clips4Error(ErrorCodes.weights, `${file}: tensor '${k}' has dtype ${t.dtype}; CLIP weights must be float32, float16 or bfloat16 (convert the file, e.g. to F32)`);
  }
  return isHuggingFaceClip(sd) ? fromHuggingFace(sd, file) : sd;
}

export class Clip {
  private readonly classifiers = new Map<string, Promise<Tensor<'float32'>>>();

  private constructor(
    private readonly handle: Handle,
    readonly info: ClipInfo,
    readonly tokenizer: Tokenizer,
    /** Identifies the weights for caches (file path + size + mtime, or an id given at creation). */
    readonly id: string,
  ) {}

  static async load(file: string, options: ClipLoadOptions = {}): Promise<Clip> {
    const o = optionsObject('options', options);
    onlyKeys('options', o, ['device', 'dtype', 'vocab', 'openaiRounding']);
    const device = resolveDevice('options.device', opt(o, 'device', 'cpu', string));
    const dtype = opt(o, 'dtype', 'float32', (n, v) => oneOf(n, v, ['float32', 'float16'] as const));
    const openaiRounding = opt(o, 'openaiRounding', true, boolean);
    const weights = await readClipWeights(string('file', file));
    const { handle, info } = await call(() => native().clip.load(weights, { device, dtype, openaiRounding }));
    const beside = file.replace(/\.(safetensors|pt)$/, '') + '.tokenizer.json';
    const tokenizer = o.vocab !== undefined ? (typeof o.vocab === 'string' ? loadTokenizer(o.vocab) : (o.vocab as Tokenizer)) : fs.existsSync(beside) ? loadTokenizer(beside) : lazyDefault();
    const st = fs.statSync(file);
    return new Clip(handle, info, tokenizer, `${path.resolve(file)}:${st.size}:${st.mtimeMs}`);
  }

  /**
   * A randomly initialised CLIP (OpenAI initialisation) of the given architecture, for training; the
   * sizes not given are ViT-B/16's (CLIP_VIT_B16), the vocabulary the tokenizer's.
   */
  static async create(config: Partial<Omit<ClipArchitecture, 'vocabSize'>> & { kind: 'vit' | 'resnet' }, tokenizer: Tokenizer, options: { device?: string; seed?: number } = {}): Promise<Clip> {
    const device = resolveDevice('options.device', options.device ?? 'cpu');
    const seed = integer('options.seed', options.seed ?? 0, 0);
    // Head counts follow OpenAI's build_model: a ViT has ⌊visionWidth / 64⌋ heads over visionWidth
    // channels, a ResNet's attention pool ⌊visionWidth / 2⌋ over 32 · visionWidth. No heads, or
    // heads that do not divide the channels, would fail deep in the native forward pass.
    if (config.visionWidth !== undefined) {
      const w = integer('config.visionWidth', config.visionWidth, 1);
      const [heads, channels] = config.kind === 'vit' ? [Math.floor(w / 64), w] : [Math.floor(w / 2), 32 * w];
      if (heads < 1 || channels % heads !== 0) {
        throw invalidParameter('config.visionWidth', config.kind === 'vit' ? 'a ViT width of at least 64 that its ⌊width / 64⌋ heads divide (e.g. 64, 128, 768)' : 'a ResNet width of at least 2 (e.g. 64)', w);
      }
    }
    const { handle, info } = await call(() => native().clip.create({ ...CLIP_VIT_B16, ...config, vocabSize: tokenizer.vocabSize }, { device, seed }));
    return new Clip(handle, info, tokenizer, `created:${seed}:${Date.now()}`);
  }

  /** Pixels per dense feature: the ViT's patch, or the ModifiedResNet's total stride (32). */
  get stride(): number {
    return this.info.kind === 'vit' ? this.info.patchSize! : 32;
  }

  private checkImages(t: Tensor): void {
    checkTensor('images', t, { dtype: 'float32', shape: [null, 3, null, null] });
  }

  /**
   * Image embeddings [N,E] (unnormalised). Takes normalised images [N,3,R,R], or image files /
   * Buffers / raw pixels, which are resized (shorter side, bicubic) and centre-cropped to the
   * model's resolution and normalised with `norm` (CLIP's constants by default).
   */
  async encodeImage(images: Tensor<'float32'> | ImageInput[], norm: Normalization = { mean: CLIP_MEAN, std: CLIP_STD }): Promise<Tensor<'float32'>> {
    let t: Tensor<'float32'>;
    if (Array.isArray(images)) {
      const raws = await Promise.all(images.map(async (i) => resizeShorterCenterCrop(await loadImage(i), this.info.imageResolution)));
      t = normalizeImages(raws, norm);
    } else t = images;
    this.checkImages(t);
    return call(() => native().clip.encodeImage(this.handle, t));
  }

  /** Normalised images for dense features: aspect kept, shorter side → `shorter`, sides multiples of the patch. */
  async prepareDense(images: ImageInput[], shorter: number, norm: Normalization = { mean: CLIP_MEAN, std: CLIP_STD }): Promise<Tensor<'float32'>> {
    const multipleOf = this.stride;
    const raws = await Promise.all(images.map(async (i) => resizeKeepAspect(await loadImage(i), { shorter, multipleOf })));
    return normalizeImages(raws, norm);
  }

  /** Text embeddings [N,E] (unnormalised) of token ids [N,L] or strings. */
  async encodeText(tokens: Tensor | string[]): Promise<Tensor<'float32'>> {
    const t = Array.isArray(tokens) ? this.tokenize(tokens) : tokens;
    checkTensor('tokens', t, { dtype: 'int64', shape: [null, null] });
    if (t.shape[1] > this.info.contextLength) throw clips4Error(ErrorCodes.shape, `Expected at most ${this.info.contextLength} tokens per text but received ${t.shape[1]}`, 'RangeError');
    // The same embeddings without the padding columns (measured bit-identical here; ViT-B/16's 85
    // prompts of a class: 9.5 → 1.2 s on this CPU).
    const used = trimPadding(t as Tensor<'int64'>);
    return call(() => native().clip.encodeText(this.handle, used));
  }

  tokenize(texts: string[]): Tensor<'int64'> {
    return tokenize(stringArray('texts', texts, 1), { vocab: this.tokenizer, contextLength: this.info.contextLength });
  }

  /** Dense features [N,E,h,w] (unnormalised) from the last block; sides must be multiples of the patch. */
  async denseFeatures(images: Tensor<'float32'>, options: { variant?: DenseVariant; window?: number; stride?: number } = {}): Promise<Tensor<'float32'>> {
    this.checkImages(images);
    const o = optionsObject('options', options);
    onlyKeys('options', o, ['variant', 'window', 'stride']);
    const variant = opt(o, 'variant', 'maskclip', (n, v) => oneOf(n, v, ['maskclip', 'clearclip', 'sclip', 'naclip'] as const));
    const multiple = this.stride;
    const [, , h, w] = images.shape;
    if (h % multiple || w % multiple) {
      throw clips4Error(ErrorCodes.shape, `Expected image sides divisible by ${multiple} (the ${this.info.kind === 'vit' ? 'patch size' : 'ResNet stride'}) but received ${h}×${w}; resize with resizeKeepAspect({multipleOf: ${multiple}})`, 'RangeError');
    }
    const window = o.window === undefined ? undefined : integer('options.window', o.window, multiple);
    const stride = o.stride === undefined ? undefined : integer('options.stride', o.stride, multiple);
    if ((window !== undefined && window % multiple) || (stride !== undefined && stride % multiple)) {
      throw clips4Error(ErrorCodes.invalidArg, `Expected window and stride to be multiples of ${multiple}`, 'RangeError');
    }
    // 0: no sliding window (the whole image at once); a window without a stride does not overlap.
    const r = await call(() => native().clip.denseFeatures(this.handle, images, { variant, window: window ?? 0, stride: stride ?? 0, attention: false }));
    return r.features;
  }

  /** The keys MaskCLIP's key smoothing compares [N,D,h,w]: a ViT's last-block keys through its out_proj, a ResNet's attention-pool k_proj per position. */
  async denseKeys(images: Tensor<'float32'>): Promise<Tensor<'float32'>> {
    this.checkImages(images);
    return call(() => native().clip.keys(this.handle, images));
  }

  /** The last block's attention for a variant (tests of the variants' defining properties). */
  async denseAttention(images: Tensor<'float32'>, variant: DenseVariant): Promise<Tensor<'float32'>> {
    this.checkImages(images);
    const r = await call(() => native().clip.denseFeatures(this.handle, images, { variant, window: 0, stride: 0, attention: true }));
    if (!r.attention) throw clips4Error(ErrorCodes.invalidArg, `variant '${variant}' has no attention to report`);
    return r.attention;
  }

  /**
   * Zero-shot classifier [C,E]: for each class the mean of its L2-normalised template embeddings,
   * renormalised. Cached per (weights, classes, templates).
   */
  textClassifier(names: string[], options: { templates?: string[] } = {}): Promise<Tensor<'float32'>> {
    stringArray('names', names, 1);
    const templates = options.templates === undefined ? promptTemplates() : stringArray('options.templates', options.templates, 1);
    const key = JSON.stringify([names, templates]);
    let hit = this.classifiers.get(key);
    if (!hit) {
      hit = this.buildClassifier(names, templates);
      this.classifiers.set(key, hit);
      hit.catch(() => this.classifiers.delete(key));
    }
    return hit;
  }

  private async buildClassifier(names: string[], templates: string[]): Promise<Tensor<'float32'>> {
    const E = this.info.embedDim;
    const out: Tensor<'float32'> = { dtype: 'float32', shape: [names.length, E], data: new Float32Array(names.length * E) };
    for (let c = 0; c < names.length; c++) {
      const emb = await this.encodeText(templates.map((t) => t.replace('{}', names[c])));
      const mean = new Float64Array(E);
      for (let i = 0; i < templates.length; i++) {
        let n = 0;
        for (let e = 0; e < E; e++) n += emb.data[i * E + e] ** 2;
        n = Math.sqrt(n) || 1;
        for (let e = 0; e < E; e++) mean[e] += emb.data[i * E + e] / n;
      }
      let n = 0;
      for (let e = 0; e < E; e++) n += mean[e] ** 2;
      n = Math.sqrt(n) || 1;
      for (let e = 0; e < E; e++) out.data[c * E + e] = mean[e] / n;
    }
    return out;
  }

  /** One symmetric contrastive step on (image, caption) pairs; returns the loss and in-batch accuracy. */
  trainStep(images: Tensor<'float32'>, tokens: Tensor<'int64'>, options: { lr: number; weightDecay?: number }): Promise<{ loss: number; accuracy: number }> {
    this.checkImages(images);
    return call(() => native().clip.trainStep(this.handle, images, tokens, { lr: options.lr, weightDecay: options.weightDecay ?? 0.1 }));
  }

  /** exp(logit_scale) from the weights, capped at 100 as CLIP's forward pass does (100 for OpenAI's). */
  logitScale(): Promise<number> {
    return call(() => native().clip.logitScale(this.handle));
  }

  /** The weights in OpenAI's layout (float32). */
  stateDict(): Promise<Record<string, Tensor<'float32'>>> {
    return call(() => native().clip.stateDict(this.handle));
  }

  /** Saves OpenAI-layout safetensors (and the tokenizer beside it when it is a word tokenizer). */
  /** Writes the weights (OpenAI keys) as safetensors, in float32 or, like OpenAI's releases, float16; a word tokenizer goes beside them. */
  async save(file: string, options: { dtype?: 'float32' | 'float16' } = {}): Promise<void> {
    const o = optionsObject('options', options);
    onlyKeys('options', o, ['dtype']);
    const dtype = opt(o, 'dtype', 'float32', (n, v) => oneOf(n, v, ['float32', 'float16'] as const));
    const sd = await this.stateDict();
    const weights = dtype === 'float32' ? sd : Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, toFloat16(t)]));
    await safetensors.write(file, weights, { format: 'openai-clip', info: JSON.stringify(this.info) });
    const tok = this.tokenizer as Tokenizer & { save?: (f: string) => void };
    if (tok.kind === 'word' && tok.save) tok.save(file.replace(/\.safetensors$/, '') + '.tokenizer.json');
  }
}

function lazyDefault(): Tokenizer {
  // Resolve CLIP's BPE only when text is first encoded, so image-only use needs no vocabulary file.
  let t: Tokenizer | undefined;
  const get = () => (t ??= defaultTokenizer());
  return {
    kind: 'bpe',
    get vocabSize() {
      return get().vocabSize;
    },
    get sot() {
      return get().sot;
    },
    get eot() {
      return get().eot;
    },
    encode: (text) => get().encode(text),
    decode: (ids) => get().decode(ids),
  };
}
