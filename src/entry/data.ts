// `clips4/data`: datasets on disk, the regions training groups pixels by (SLIC, Felzenszwalb or a
// folder of maps), the teacher-feature cache, indexed PNG I/O and the image checks and
// conversions beneath the root's loadImage.
export { vocDataset, contextDataset, cocoStuffDataset, davisSequences, folderDataset, readLabel, type Dataset, type Item, type DavisSequence } from '../data/datasets';
export { slic, cachedSlic, felzenszwalb, computeRegions, cachedRegions, SLIC_DEFAULTS, FELZENSZWALB_DEFAULTS, type RegionOptions } from '../data/regions';
export { readRegionPng, folderRegions, type RegionMap } from '../data/region-folder';
export { regionsFor, regionSourceFromConfig, type RegionSource } from '../data/region-source';
export { buildClipCache, cacheKey, type ClipCache } from '../data/clip-cache';
export { encodeIndexedPng, decodeIndexedPng, vocPalette, type IndexedImage } from '../io/png';
export { isRawImage, checkRawImage, describeInput, DEFAULT_MAX_PIXELS, denormalizeImage } from '../image';
