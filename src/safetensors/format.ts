// The safetensors format: an 8-byte little-endian header length, a JSON header, then the raw
// tensor bytes. This file holds the format's facts and the header validation; reading and
// writing are in read.ts / write.ts.
import { clips4Error, ErrorCodes } from '../errors';
import type { Dtype } from '../tensor';

/** Names in the file ↔ our dtypes. Other safetensors dtypes are recognised but not supported. */
export const fileDtypes: Record<string, { dtype: Dtype; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F16: { dtype: 'float16', bytes: 2 },
  BF16: { dtype: 'bfloat16', bytes: 2 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
  U8: { dtype: 'uint8', bytes: 1 },
  F64: { dtype: 'float64', bytes: 8 },
};
const knownUnsupported = new Set(['I16', 'I8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2']);

export const dtypeToFile: Record<Dtype, string> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  float64: 'F64',
};

/** Headers larger than this are refused (the reference implementation uses the same bound). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  fileDtype: string;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

export interface Header {
  metadata: Record<string, string>;
  tensors: TensorEntry[];
  /** Where the data section starts (8 + header length). */
  dataStart: number;
}

function bad(file: string, what: string): Error {
  return clips4Error(ErrorCodes.format, `Invalid safetensors file ${file}: ${what}`);
}

/** Reads the header length from the first 8 bytes and checks it against the file size. */
export function headerLength(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw bad(file, `the file has ${fileSize} bytes, fewer than the 8-byte header length (truncated or not a safetensors file)`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw bad(file, `the header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  if (Number(n) > fileSize - 8) throw bad(file, `the header length ${n} runs past the end of the ${fileSize}-byte file (truncated?)`);
  if (n < 2n) throw bad(file, `the header length ${n} is too small for a JSON object`);
  return Number(n);
}

/** Parses and validates the JSON header: dtypes, shapes × sizes, offsets inside the data, no overlaps or holes. */
export function parseHeader(file: string, json: Uint8Array, fileSize: number): Header {
  let parsed: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad(file, `the header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad(file, 'the header is not a JSON object');
  const dataStart = 8 + json.length;
  const dataLength = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(file, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw bad(file, `__metadata__['${k}'] is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(file, `${where} is not an object`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string') throw bad(file, `${where} has no dtype`);
    const info = fileDtypes[e.dtype];
    if (!info) {
      throw bad(file, knownUnsupported.has(e.dtype)
        ? `${where} has dtype ${e.dtype}, which clips4 does not support (supported: ${Object.keys(fileDtypes).join(', ')}); convert it, e.g. to F32`
        : `${where} has unknown dtype '${e.dtype}'`);
    }
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(file, `${where} has an invalid shape`);
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || e.data_offsets.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw bad(file, `${where} has invalid data_offsets`);
    }
    const [b, en] = e.data_offsets as number[];
    if (en < b) throw bad(file, `${where} has data_offsets [${b}, ${en}] that end before they begin`);
    if (en > dataLength) throw bad(file, `${where} has data_offsets [${b}, ${en}] past the end of the ${dataLength}-byte data section (truncated?)`);
    const count = (e.shape as number[]).reduce((a, d) => a * d, 1);
    if (!Number.isSafeInteger(count * info.bytes) || count * info.bytes !== en - b) {
      throw bad(file, `${where} has shape [${(e.shape as number[]).join(', ')}] × ${info.bytes} bytes = ${count * info.bytes} bytes but data_offsets span ${en - b}`);
    }
    tensors.push({ name, dtype: info.dtype, fileDtype: e.dtype, shape: e.shape as number[], begin: dataStart + b, end: dataStart + en });
  }
  // The data section must be covered exactly: no overlaps, no holes, nothing after the last tensor.
  const sorted = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let pos = dataStart;
  for (const t of sorted) {
    if (t.begin < pos) throw bad(file, `tensor '${t.name}' overlaps the tensor before it`);
    if (t.begin > pos) throw bad(file, `there is a hole of ${t.begin - pos} bytes before tensor '${t.name}'`);
    pos = t.end;
  }
  if (pos !== fileSize) throw bad(file, `${fileSize - pos} bytes after the last tensor are not described by the header`);
  return { metadata, tensors, dataStart };
}
