// The public API of clips4. One export line per capability.
export { ErrorCodes, type ErrorCode, type Clips4Error } from './errors';
export { type Tensor, type Dtype, checkTensor, zeros, tensor, float32, toFloat32 } from './tensor';
export { resolveDevice, setThreads, getThreads, versions, doctor, type Device } from './runtime';
export * as safetensors from './safetensors';
export * from './image';
export { matmul } from './ops';
export * from './world';
export { Clip, readClipWeights, type ClipInfo, type DenseVariant } from './clip/clip';
export { tokenize, loadTokenizer, BpeTokenizer, WordTokenizer, type Tokenizer } from './clip/tokenizer';
export { promptTemplates, classNames, contextFolds } from './clip/templates';
export { Segmenter, type Segmentation, type SegmentOptions } from './infer/segmenter';
export { PixelEmbedder, ResNet, PAPER_NET, type NetConfig } from './net/embedder';
export * as kernels from './kernels';
export { slic, cachedSlic } from './data/regions';
