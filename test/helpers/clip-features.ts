// A ViT CLIP and an input large enough (197 tokens, width 128) for CLIP's products to take the
// oneDNN path; shared by clip.test.ts and its child process.
import type { Tensor } from '../../src/tensor';

export const DENSE_TEST_CONFIG = { kind: 'vit' as const, embedDim: 64, imageResolution: 224, visionWidth: 128, visionLayers: 2, patchSize: 16, contextLength: 8, textWidth: 64, textLayers: 1 };

export function denseTestInput(): Tensor<'float32'> {
  const n = 2 * 3 * 224 * 224;
  return { dtype: 'float32', shape: [2, 3, 224, 224], data: new Float32Array(n).map((_, i) => Math.sin(i * 0.013)) };
}
