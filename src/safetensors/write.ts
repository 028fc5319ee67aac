// Writing safetensors files atomically (temp file, fsync, rename). Tensors are written in the
// order given; the header is padded with spaces to an 8-byte boundary as the format allows.
import { writeFileAtomic } from '../io/atomic';
import { clips4Error, ErrorCodes } from '../errors';
import { bytesPerElement, checkTensor, type Tensor } from '../tensor';
import { dtypeToFile } from './format';

export function encode(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw clips4Error(ErrorCodes.invalidArg, `Expected a string for metadata['${k}'] but received ${typeof v}`, 'TypeError');
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw clips4Error(ErrorCodes.invalidArg, "A tensor cannot be named '__metadata__'", 'TypeError');
    checkTensor(`tensors['${name}']`, t);
    const bytes = t.data.length * bytesPerElement(t.dtype);
    header[name] = { dtype: dtypeToFile[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    chunks.push(new Uint8Array(t.data.buffer, t.data.byteOffset, bytes));
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.from(' '.repeat(pad))]);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
  return [len, json, ...chunks];
}

/** Writes `tensors` (and string metadata) to `file` atomically. */
export async function write(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(file, ...encode(tensors, metadata));
}
