// Indexed (palette) and 8/16-bit grey PNG encoding and decoding. Label maps must keep their exact
// index values, which general image libraries expand to RGB; this reads and writes the indices.
import * as zlib from 'node:zlib';
import { clips4Error, ErrorCodes } from '../errors';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** The Pascal VOC colour map (index → RGB), used for every indexed label PNG we write. */
export function vocPalette(): Uint8Array {
  const p = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p.set([r, g, b], i * 3);
  }
  return p;
}

/** Encodes an 8-bit indexed PNG (values 0..255) with the given palette (default VOC). */
export function encodeIndexedPng(indices: Uint8Array, width: number, height: number, palette: Uint8Array = vocPalette()): Buffer {
  if (indices.length !== width * height) throw clips4Error(ErrorCodes.shape, `Expected ${width * height} indices for a ${width}×${height} PNG but received ${indices.length}`, 'RangeError');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: palette
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('PLTE', palette.subarray(0, 256 * 3)), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/** Encodes a 16-bit grey PNG (e.g. region ids ≥ 256). */
export function encodeGray16Png(values: Uint16Array, width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16;
  ihdr[9] = 0;
  const raw = Buffer.alloc((width * 2 + 1) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.writeUInt16BE(values[y * width + x], y * (width * 2 + 1) + 1 + x * 2);
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export interface IndexedImage {
  /** One value per pixel: palette index or grey level. */
  data: Uint16Array | Uint8Array;
  width: number;
  height: number;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes a single-channel PNG (palette or grey; 1/2/4/8/16 bits; not interlaced) to its raw
 * values. `name` is used in error messages.
 */
export function decodeIndexedPng(buf: Uint8Array, name = 'PNG'): IndexedImage {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (why: string) => clips4Error(ErrorCodes.format, `Cannot read label map ${name}: ${why}`);
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE)) throw fail('not a PNG file');
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let type = -1;
  let interlace = 0;
  const idat: Buffer[] = [];
  while (pos + 8 <= b.length) {
    const len = b.readUInt32BE(pos);
    const t = b.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + len > b.length) throw fail('truncated');
    const data = b.subarray(pos + 8, pos + 8 + len);
    if (t === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      type = data[9];
      interlace = data[12];
    } else if (t === 'IDAT') idat.push(data);
    else if (t === 'IEND') break;
    pos += 12 + len;
  }
  if (type !== 0 && type !== 3) throw fail(`colour type ${type} is not a single-channel (palette or grey) label map`);
  if (interlace) throw fail('interlaced PNGs are not supported');
  if (!width || !height) throw fail('missing IHDR');
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw fail(`corrupt image data (${(e as Error).message})`);
  }
  const bpp = Math.max(1, depth / 8);
  const stride = Math.ceil((width * depth) / 8);
  if (raw.length < (stride + 1) * height) throw fail('truncated image data');
  const out = depth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const up = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      const x = line[i];
      cur[i] = f === 0 ? x : f === 1 ? x + a : f === 2 ? x + up : f === 3 ? x + ((a + up) >> 1) : f === 4 ? x + paeth(a, up, c) : NaN;
      if (f > 4) throw fail(`bad filter type ${f}`);
    }
    for (let x = 0; x < width; x++) {
      let v: number;
      if (depth === 16) v = cur.readUInt16BE(x * 2);
      else if (depth === 8) v = cur[x];
      else {
        const bit = x * depth;
        v = (cur[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
      }
      out[y * width + x] = v;
    }
    prev.set(cur);
  }
  return { data: out, width, height };
}
