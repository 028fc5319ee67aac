export { loadImage, isRawImage, checkRawImage, describeInput, DEFAULT_MAX_PIXELS, type RawImage, type ImageInput } from './load';
export { resizeShorterCenterCrop, resizeKeepAspect, resizeExact } from './resize';
export { normalizeImages, denormalizeImage, CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, type Normalization } from './normalize';
