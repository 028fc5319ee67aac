// The Tensor type that crosses the JS/native boundary, and its validation. Native code receives
// only tensors that passed `checkTensor`, so every shape/dtype/length message is written here.
import { clips4Error, describe, ErrorCodes } from './errors';

export type Dtype = 'float32' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'uint8' | 'float64';

export interface DataFor {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  float64: Float64Array;
}

export interface Tensor<D extends Dtype = Dtype> {
  dtype: D;
  shape: number[];
  data: DataFor[D];
}

const arrayTypes: { [D in Dtype]: { name: string; ctor: new (n: number) => DataFor[D]; bytes: number } } = {
  float32: { name: 'Float32Array', ctor: Float32Array, bytes: 4 },
  float16: { name: 'Uint16Array', ctor: Uint16Array, bytes: 2 },
  bfloat16: { name: 'Uint16Array', ctor: Uint16Array, bytes: 2 },
  int32: { name: 'Int32Array', ctor: Int32Array, bytes: 4 },
  int64: { name: 'BigInt64Array', ctor: BigInt64Array, bytes: 8 },
  uint8: { name: 'Uint8Array', ctor: Uint8Array, bytes: 1 },
  float64: { name: 'Float64Array', ctor: Float64Array, bytes: 8 },
};

export const dtypes = Object.keys(arrayTypes) as Dtype[];

export function bytesPerElement(dtype: Dtype): number {
  return arrayTypes[dtype].bytes;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A zero-filled tensor. */
export function zeros<D extends Dtype>(dtype: D, shape: number[]): Tensor<D> {
  return { dtype, shape: [...shape], data: new arrayTypes[dtype].ctor(numel(shape)) };
}

/** Wraps existing data (no copy) after checking it. */
export function tensor<D extends Dtype>(dtype: D, shape: number[], data: DataFor[D]): Tensor<D> {
  const t = { dtype, shape: [...shape], data };
  checkTensor('tensor', t);
  return t;
}

/** Image n's h×w window at (y0, x0) of a float32 batch [N,C,H,W], copied out as a batch of one
 * (what one CLIP pass per sliding window sees, for tests and benchmarks of the windows). */
export function cropImage(x: Tensor<'float32'>, n: number, y0: number, x0: number, h: number, w: number): Tensor<'float32'> {
  const [, c, H, W] = x.shape;
  const out = zeros('float32', [1, c, h, w]);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const from = ((n * c + ch) * H + y0 + y) * W + x0;
      out.data.set(x.data.subarray(from, from + w), (ch * h + y) * w);
    }
  }
  return out;
}

export function float32(shape: number[], data?: ArrayLike<number>): Tensor<'float32'> {
  const t = zeros('float32', shape);
  if (data) {
    if (data.length !== t.data.length) throw shapeError('data', `${t.data.length} values for shape [${shape.join(', ')}]`, data.length);
    t.data.set(data);
  }
  return t;
}

function shapeError(name: string, expected: string, received: unknown): Error {
  return clips4Error(ErrorCodes.shape, `Expected ${expected} for ${name} but received ${typeof received === 'number' ? received : describe(received)}`, 'RangeError');
}

export interface TensorSpec {
  /** Allowed dtypes (default: any). */
  dtype?: Dtype | readonly Dtype[];
  /** Expected shape: a number fixes a dimension, a string names it (same names must agree), null = any. */
  shape?: readonly (number | string | null)[];
}

/**
 * Checks a value is a well-formed Tensor (and matches `spec`); returns named dimension sizes.
 * Throws TypeError (ERR_CLIPS4_DTYPE) for the wrong dtype/array, RangeError (ERR_CLIPS4_SHAPE) for
 * a wrong shape or a data length that does not match the shape.
 */
export function checkTensor(name: string, value: unknown, spec: TensorSpec = {}, dims: Record<string, number> = {}): Record<string, number> {
  if (typeof value !== 'object' || value === null) {
    throw clips4Error(ErrorCodes.dtype, `Expected a Tensor {dtype, shape, data} for ${name} but received ${describe(value)}`, 'TypeError');
  }
  const t = value as Partial<Tensor>;
  if (typeof t.dtype !== 'string' || !(t.dtype in arrayTypes)) {
    throw clips4Error(ErrorCodes.dtype, `Expected one of ${dtypes.join(', ')} for ${name}.dtype but received ${describe(t.dtype)}`, 'TypeError');
  }
  const allowed = spec.dtype === undefined ? undefined : typeof spec.dtype === 'string' ? [spec.dtype] : spec.dtype;
  if (allowed && !allowed.includes(t.dtype)) {
    throw clips4Error(ErrorCodes.dtype, `Expected ${allowed.join(' or ')} for ${name}.dtype but received ${t.dtype}`, 'TypeError');
  }
  const info = arrayTypes[t.dtype];
  if (!(t.data instanceof (info.ctor as unknown as typeof Object))) {
    throw clips4Error(ErrorCodes.dtype, `Expected ${info.name} for ${name}.data (dtype ${t.dtype}) but received ${describe(t.data)}`, 'TypeError');
  }
  if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw clips4Error(ErrorCodes.shape, `Expected an array of non-negative integers for ${name}.shape but received ${Array.isArray(t.shape) ? `[${t.shape.join(', ')}]` : describe(t.shape)}`, 'TypeError');
  }
  const n = numel(t.shape);
  if (n !== (t.data as { length: number }).length) {
    throw clips4Error(ErrorCodes.shape, `Expected ${n} elements in ${name}.data for shape [${t.shape.join(', ')}] but received ${(t.data as { length: number }).length}`, 'RangeError');
  }
  if (spec.shape) {
    const want = spec.shape;
    const describeWant = `[${want.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
    if (t.shape.length !== want.length) {
      throw clips4Error(ErrorCodes.shape, `Expected shape ${describeWant} (${want.length} dimensions) for ${name} but received [${t.shape.join(', ')}]`, 'RangeError');
    }
    want.forEach((d, i) => {
      const got = t.shape![i];
      if (typeof d === 'number' && got !== d) {
        throw clips4Error(ErrorCodes.shape, `Expected size ${d} in dimension ${i} of ${name} (shape ${describeWant}) but received [${t.shape!.join(', ')}]`, 'RangeError');
      }
      if (typeof d === 'string') {
        if (dims[d] === undefined) dims[d] = got;
        else if (dims[d] !== got) {
          throw clips4Error(ErrorCodes.shape, `Expected ${d} = ${dims[d]} in dimension ${i} of ${name} (shape ${describeWant}) but received [${t.shape!.join(', ')}]`, 'RangeError');
        }
      }
    });
  }
  return dims;
}

/** Float16 (IEEE half) bits → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

let halfTable: Float32Array | undefined;

/**
 * float16 bits → float32 for a whole array, through a table of all 65,536 values (every half is
 * exact in float32): training reads the teacher's cached features per batch, and `halfToFloat`'s
 * powers were a quarter of the main thread's time in a world training run (measured: 2.4 of 10.2 s).
 */
export function halfsToFloats(half: Uint16Array, out: Float32Array = new Float32Array(half.length)): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  for (let i = 0; i < half.length; i++) out[i] = halfTable[half[i]];
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** number → float16 bits (round to nearest even). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function bfloat16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** Converts any floating tensor to float32 (copy). Integer tensors are converted by value. */
export function toFloat32(t: Tensor): Tensor<'float32'> {
  if (t.dtype === 'float32') return t as Tensor<'float32'>;
  const out = zeros('float32', t.shape);
  const src = t.data;
  if (t.dtype === 'float16') halfsToFloats(src as Uint16Array, out.data);
  else if (t.dtype === 'bfloat16') for (let i = 0; i < out.data.length; i++) out.data[i] = bfloat16ToFloat((src as Uint16Array)[i]);
  else if (t.dtype === 'int64') for (let i = 0; i < out.data.length; i++) out.data[i] = Number((src as BigInt64Array)[i]);
  else out.data.set(src as ArrayLike<number>);
  return out;
}

/** A float32 tensor rounded to float16 (copy; IEEE half bits in a Uint16Array). */
export function toFloat16(t: Tensor<'float32'>): Tensor<'float16'> {
  const out = zeros('float16', t.shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = floatToHalf(t.data[i]);
  return out;
}
