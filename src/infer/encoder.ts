// What the Segmenter needs from a feature source: CLIP's dense features (MaskCLIP mode) or a
// trained pixel embedder, plus CLIP's text side for class names.
import type { Tensor } from '../tensor';

export interface Encoder {
  /** Input sides must be multiples of this (ViT patch size, or the network's stride). */
  multipleOf: number;
  /** Normalisation the encoder expects for its input images. */
  mean: readonly number[];
  std: readonly number[];
  /** Dense features [N,E,h,w] for a batch of normalised images [N,3,H,W]. */
  encode(images: Tensor<'float32'>): Promise<Tensor<'float32'>>;
  /** Keys for MaskCLIP key smoothing (CLIP dense features without a sliding window only). */
  keys?(images: Tensor<'float32'>): Promise<Tensor<'float32'>>;
}

export interface TextSide {
  /** Class embeddings [C,E] from prompt-template ensembles (cached by the implementation). */
  textClassifier(names: string[], options?: { templates?: string[] }): Promise<Tensor<'float32'>>;
  /** The scale of CLIP's softmax over classes (exp(logit_scale), 100 for OpenAI's weights). */
  logitScale(): Promise<number>;
}
