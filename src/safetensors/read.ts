// Reading safetensors files. The header is read and validated first; tensor bytes are read one
// tensor at a time with positional reads (no whole-file buffer), so large files stream.
import * as fs from 'node:fs';
import { clips4Error, ErrorCodes } from '../errors';
import { type Tensor, toFloat32, zeros } from '../tensor';
import { headerLength, parseHeader, type Header, type TensorEntry } from './format';

export interface ReadOptions {
  /** Convert float16/bfloat16 tensors to float32. */
  upcast?: boolean;
  /** Only these tensor names (all when absent). */
  names?: string[];
}

/** Where bytes come from: a file or an in-memory buffer (same validation either way). */
export interface Source {
  name: string;
  size: number;
  read(offset: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export async function fileSource(file: string): Promise<Source> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw clips4Error(ErrorCodes.file, e.code === 'ENOENT' ? `Cannot read safetensors file ${file}: no such file` : `Cannot read safetensors file ${file}: ${e.message}`);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw clips4Error(ErrorCodes.file, `Cannot read safetensors file ${file}: not a regular file`);
  }
  return {
    name: file,
    size: stat.size,
    async read(offset, into) {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await handle.read(into, done, into.length - done, offset + done);
        if (bytesRead === 0) throw clips4Error(ErrorCodes.format, `Invalid safetensors file ${file}: unexpected end of file at byte ${offset + done}`);
        done += bytesRead;
      }
    },
    close: () => handle.close(),
  };
}

export function bufferSource(name: string, buffer: Uint8Array): Source {
  return {
    name,
    size: buffer.length,
    async read(offset, into) {
      if (offset + into.length > buffer.length) throw clips4Error(ErrorCodes.format, `Invalid safetensors file ${name}: unexpected end of data`);
      into.set(buffer.subarray(offset, offset + into.length));
    },
    async close() {},
  };
}

export async function readHeaderFrom(src: Source): Promise<Header> {
  const first = new Uint8Array(8);
  if (src.size >= 8) await src.read(0, first);
  const n = headerLength(src.name, first, src.size);
  const json = new Uint8Array(n);
  await src.read(8, json);
  return parseHeader(src.name, json, src.size);
}

async function readEntry(src: Source, e: TensorEntry): Promise<Tensor> {
  const t = zeros(e.dtype, e.shape);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  await src.read(e.begin, bytes);
  return t;
}

export async function readFrom(src: Source, options: ReadOptions = {}): Promise<Record<string, Tensor>> {
  const header = await readHeaderFrom(src);
  const want = options.names ? new Set(options.names) : undefined;
  if (want) {
    const missing = [...want].filter((n) => !header.tensors.some((t) => t.name === n));
    if (missing.length) throw clips4Error(ErrorCodes.weights, `${src.name} has no tensor named ${missing.map((m) => `'${m}'`).join(', ')}`);
  }
  const out: Record<string, Tensor> = {};
  for (const e of header.tensors) {
    if (want && !want.has(e.name)) continue;
    const t = await readEntry(src, e);
    out[e.name] = options.upcast && (t.dtype === 'float16' || t.dtype === 'bfloat16') ? toFloat32(t) : t;
  }
  return out;
}

async function withFile<T>(file: string, fn: (src: Source) => Promise<T>): Promise<T> {
  const src = await fileSource(file);
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

/** All tensors of a safetensors file (or those in `options.names`). */
export function read(file: string, options: ReadOptions = {}): Promise<Record<string, Tensor>> {
  return withFile(file, (src) => readFrom(src, options));
}

/** The validated header: tensor names, dtypes, shapes, offsets, and metadata. */
export function readHeader(file: string): Promise<Header> {
  return withFile(file, readHeaderFrom);
}

/** The `__metadata__` strings of a file. */
export async function readMetadata(file: string): Promise<Record<string, string>> {
  return (await readHeader(file)).metadata;
}
