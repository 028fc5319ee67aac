// safetensors reader and writer: `import { safetensors } from 'clips4'`.
export { read, readHeader, readMetadata, readFrom, readHeaderFrom, fileSource, bufferSource, type ReadOptions, type Source } from './read';
export { write, encode } from './write';
export { type Header, type TensorEntry, MAX_HEADER_BYTES } from './format';
