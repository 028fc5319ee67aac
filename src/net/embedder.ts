// The pixel embedding network (dilated ResNet + PSPNet head, L2-normalised embeddings) and the
// ResNet backbone alone, in torchvision's layout. Saved as safetensors + a JSON config beside it.
import * as fs from 'node:fs';
import { clips4Error, ErrorCodes } from '../errors';
import { writeJsonAtomicSync } from '../io/atomic';
import type { Handle, NetConfig } from '../binding';
import { call, native } from '../native';

export type { NetBinding, NetConfig } from '../binding';
import * as safetensors from '../safetensors';
import { checkTensor, type Tensor } from '../tensor';
import { boolean, integer, oneOf, optionsObject, onlyKeys, opt } from '../validate';
import { resolveDevice } from '../runtime';
import { PAPER_NET } from './paper-net';



export { PAPER_NET } from './paper-net';

const configKeys = Object.keys(PAPER_NET);

export function checkNetConfig(name: string, value: unknown): NetConfig {
  const o = optionsObject(name, value);
  onlyKeys(name, o, configKeys);
  const ints4 = (k: string) =>
    opt(o, k, (PAPER_NET as unknown as Record<string, number[]>)[k], (n, v) => {
      if (!Array.isArray(v) || v.length !== 4) throw clips4Error(ErrorCodes.invalidArg, `Expected 4 integers for ${n}`, 'TypeError');
      return v.map((x, i) => integer(`${n}[${i}]`, x, 1, 65536));
    }, name);
  const c: NetConfig = {
    block: opt(o, 'block', PAPER_NET.block, (n, v) => oneOf(n, v, ['bottleneck', 'basic'] as const), name),
    layers: ints4('layers'),
    inner: ints4('inner'),
    out: ints4('out'),
    stem: opt(o, 'stem', PAPER_NET.stem, (n, v) => integer(n, v, 2, 4096), name),
    deepStem: opt(o, 'deepStem', false, boolean, name),
    dilation: opt(o, 'dilation', PAPER_NET.dilation, (n, v) => {
      if (!Array.isArray(v) || v.length !== 3) throw clips4Error(ErrorCodes.invalidArg, `Expected 3 booleans for ${n} (layer2, layer3, layer4)`, 'TypeError');
      return v.map((x, i) => boolean(`${n}[${i}]`, x));
    }, name),
    headChannels: opt(o, 'headChannels', PAPER_NET.headChannels, (n, v) => integer(n, v, 1, 65536), name),
    bins: opt(o, 'bins', PAPER_NET.bins, (n, v) => {
      if (!Array.isArray(v) || v.length === 0) throw clips4Error(ErrorCodes.invalidArg, `Expected a non-empty array of bin sizes for ${n}`, 'TypeError');
      return v.map((x, i) => integer(`${n}[${i}]`, x, 1, 64));
    }, name),
    norm: opt(o, 'norm', PAPER_NET.norm, (n, v) => oneOf(n, v, ['bn', 'bn-eval', 'gn'] as const), name),
    upsample: opt(o, 'upsample', false, boolean, name),
    embedDim: opt(o, 'embedDim', PAPER_NET.embedDim, (n, v) => integer(n, v, 1, 65536), name),
  };
  if (c.block === 'basic' && c.inner.some((w, i) => w !== c.out[i])) throw clips4Error(ErrorCodes.invalidArg, `BasicBlock layers have one width: ${name}.inner must equal ${name}.out`, 'RangeError');
  return c;
}

function checkImages(t: Tensor): void {
  checkTensor('images', t, { dtype: 'float32', shape: [null, 3, null, null] });
}

/** What a saved embedder records about its training. */
export interface ModelTraining {
  /** Class names held out as unknown: never given to training. */
  heldOut: string[];
}

export class PixelEmbedder {
  private constructor(
    /** Native handle; also accepted by the trainer as its model. */
    readonly handle: Handle,
    readonly config: NetConfig,
  ) {}

  static create(config: Partial<NetConfig> = {}, options: { seed?: number; device?: string } = {}): PixelEmbedder {
    const c = checkNetConfig('config', { ...PAPER_NET, ...config });
    const device = resolveDevice('options.device', options.device ?? 'cpu');
    return new PixelEmbedder(native().net.create(c, { seed: integer('options.seed', options.seed ?? 0, 0), device }), c);
  }

  /** What `<file>.json` records about the model's training (undefined for models saved without it). */
  static training(file: string): ModelTraining | undefined {
    const cfgFile = file.replace(/\.safetensors$/, '') + '.json';
    if (!fs.existsSync(cfgFile)) return undefined;
    return (JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { training?: ModelTraining }).training;
  }

  /** Loads `<file>.safetensors` with its `<file>.json` config beside it. */
  static async load(file: string, options: { device?: string } = {}): Promise<PixelEmbedder> {
    const cfgFile = file.replace(/\.safetensors$/, '') + '.json';
    if (!fs.existsSync(cfgFile)) throw clips4Error(ErrorCodes.file, `Cannot load the embedder ${file}: its config ${cfgFile} is missing`);
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { format?: string; net: unknown };
    const e = PixelEmbedder.create(checkNetConfig(`${cfgFile}: net`, cfg.net), options);
    await call(async () => native().net.load(e.handle, await safetensors.read(file, { upcast: true })));
    return e;
  }

  /** Initialises the backbone from torchvision ResNet weights (safetensors; fc.* ignored). */
  async loadBackbone(file: string): Promise<void> {
    const w = await safetensors.read(file, { upcast: true });
    await call(() => native().net.loadBackbone(this.handle, w));
  }

  /**
   * Writes `<file>.safetensors` and `<file>.json`. `training.heldOut` records the classes whose names
   * training never saw, so that a class-free evaluation can check it scores the right fold.
   */
  async save(file: string, training?: ModelTraining): Promise<void> {
    await safetensors.write(file, await call(() => native().net.stateDict(this.handle)), { format: 'clips4-pixel-embedder' });
    writeJsonAtomicSync(file.replace(/\.safetensors$/, '') + '.json', { format: 'clips4-pixel-embedder', net: this.config, ...(training ? { training } : {}) });
  }

  /** L2-normalised embeddings [B,d,h,w] (eval mode). */
  async embed(images: Tensor<'float32'>): Promise<Tensor<'float32'>> {
    checkImages(images);
    return call(() => native().net.embed(this.handle, images));
  }

  stateDict(): Promise<Record<string, Tensor>> {
    return call(() => native().net.stateDict(this.handle));
  }

  /** Output stride of the embeddings relative to the input. */
  get stride(): number {
    const os = 32 / this.config.dilation.reduce((a, d) => a * (d ? 2 : 1), 1);
    return this.config.upsample ? os / 2 : os;
  }
}

/** The ResNet backbone alone, loaded from torchvision weights. */
export class ResNet {
  private constructor(private readonly embedder: PixelEmbedder) {}

  get config(): NetConfig {
    return this.embedder.config;
  }

  static async load(file: string, options: { dilation?: boolean[]; device?: string } = {}): Promise<ResNet> {
    const w = await safetensors.read(file, { upcast: true });
    const inferred = native().net.inferResNet(w);
    const e = PixelEmbedder.create({ ...inferred, dilation: options.dilation ?? [false, false, false], headChannels: 8, embedDim: 8, bins: [1] }, { device: options.device });
    await call(() => native().net.loadBackbone(e.handle, w));
    return new ResNet(e);
  }

  /** {layer1, layer2, layer3, layer4} in eval mode. */
  async features(images: Tensor<'float32'>): Promise<Record<'layer1' | 'layer2' | 'layer3' | 'layer4', Tensor<'float32'>>> {
    checkImages(images);
    return call(() => native().net.features(this.embedder.handle, images));
  }
}
