// `require('clips4')` / `import … from 'clips4'`: what inference needs — CLIP, the Segmenter, the
// pixel embedder, tokenizers, images in and label maps out, tensors, safetensors, errors and the
// runtime. Training, evaluation, data, the synthetic world, plots and the raw kernels are subpath
// entries (src/entry/, `clips4/train` …), so that this list stays one a user can read.
export { ErrorCodes, type ErrorCode, type Clips4Error } from './errors';
export { type Tensor, type Dtype, checkTensor, zeros, tensor, float32, toFloat32 } from './tensor';
export { resolveDevice, setThreads, getThreads, cpuCache, emptyCpuCache, versions, doctor, type Device, type Versions, type DoctorReport } from './runtime';
export * as safetensors from './safetensors';
export { loadImage, resizeShorterCenterCrop, resizeKeepAspect, resizeExact, normalizeImages, CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, type RawImage, type ImageInput, type Normalization } from './image';
// The smallest real native computation: the smoke test of an installation (CI runs it on the prebuild).
export { matmul } from './ops';
export { Clip, readClipWeights, type ClipInfo, type ClipLoadOptions, type DenseVariant } from './clip/clip';
export { tokenize, loadTokenizer, BpeTokenizer, WordTokenizer, type Tokenizer, type TokenizeOptions } from './clip/tokenizer';
export { promptTemplates, classNames, type DatasetClasses } from './clip/templates';
export { Segmenter, type Segmentation, type SegmentOptions, type SegmenterOptions, type SegmenterLoadOptions } from './infer/segmenter';
export { PixelEmbedder, ResNet, PAPER_NET, type NetConfig, type ModelTraining } from './net/embedder';
export { writeLabelPng, writeOverlay, classAreas } from './infer/output';
