// The paper's network, declared once: the defaults of `model.*` in src/train/schema.ts and of
// PixelEmbedder.create.
import type { NetConfig } from '../binding';

/** ResNet-50 (torchvision) + PSPNet with CLIP ViT-B/16's 512-d embeddings: the paper's network. */
export const PAPER_NET: NetConfig = {
  block: 'bottleneck',
  layers: [3, 4, 6, 3],
  inner: [64, 128, 256, 512],
  out: [256, 512, 1024, 2048],
  stem: 64,
  deepStem: false,
  dilation: [false, true, true],
  headChannels: 512,
  bins: [1, 2, 3, 6],
  norm: 'bn',
  upsample: false,
  embedDim: 512,
};
