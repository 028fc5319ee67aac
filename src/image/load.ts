// Decoding any image users have (path, Buffer or raw pixels) into 8-bit RGB: EXIF orientation
// applied, alpha dropped, grayscale/CMYK/16-bit converted; unreadable files and images over the
// pixel limit are refused with a message naming the file.
import * as fs from 'node:fs';
import sharp from 'sharp';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';

export interface RawImage {
  /** RGB, interleaved, row-major, 8 bits per channel: length = width × height × 3. */
  data: Uint8Array;
  width: number;
  height: number;
}

export type ImageInput = string | Buffer | RawImage;

/** Default pixel limit (a 16k × 16k image); raise with `maxPixels`. */
export const DEFAULT_MAX_PIXELS = 16384 * 16384;

export function isRawImage(v: unknown): v is RawImage {
  const r = v as RawImage;
  return typeof v === 'object' && v !== null && r.data instanceof Uint8Array && Number.isInteger(r.width) && Number.isInteger(r.height) && !Buffer.isBuffer(v);
}

export function describeInput(input: ImageInput): string {
  if (typeof input === 'string') return input;
  if (Buffer.isBuffer(input)) return `<Buffer of ${input.length} bytes>`;
  return `<raw ${input.width}×${input.height} image>`;
}

export function checkRawImage(name: string, img: RawImage): RawImage {
  if (img.width <= 0 || img.height <= 0) throw invalidParameter(`${name}.width/height`, 'positive integers', `${img.width}×${img.height}`);
  if (img.data.length !== img.width * img.height * 3) {
    throw clips4Error(ErrorCodes.shape, `Expected ${img.width * img.height * 3} bytes (width × height × 3, RGB) for ${name}.data but received ${img.data.length}`, 'RangeError');
  }
  return img;
}

/** Decodes one image to RGB. */
export async function loadImage(input: ImageInput, options: { maxPixels?: number } = {}): Promise<RawImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isRawImage(input)) return checkRawImage('image', input);
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) throw invalidParameter('image', 'a file path, a Buffer or a raw image {data, width, height}', input);
  const name = describeInput(input);
  if (typeof input === 'string') {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(input);
    } catch {
      throw clips4Error(ErrorCodes.file, `Cannot read image ${input}: no such file`);
    }
    if (!st.isFile()) throw clips4Error(ErrorCodes.file, `Cannot read image ${input}: not a regular file`);
    if (st.size === 0) throw clips4Error(ErrorCodes.file, `Cannot decode image ${input}: the file is empty`);
  } else if (input.length === 0) {
    throw clips4Error(ErrorCodes.file, 'Cannot decode image <Buffer of 0 bytes>: the buffer is empty');
  }
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw clips4Error(ErrorCodes.file, `Cannot decode image ${name}: ${(err as Error).message}`);
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) {
    throw clips4Error(ErrorCodes.file, `Image ${name} has ${meta.width}×${meta.height} = ${pixels} pixels, over the limit of ${maxPixels}; resize it or raise maxPixels`, 'RangeError');
  }
  try {
    const { data, info } = await sharp(input, { failOn: 'truncated', limitInputPixels: maxPixels })
      .rotate() // EXIF orientation
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    let rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (info.channels === 1) {
      rgb = new Uint8Array(info.width * info.height * 3);
      for (let i = 0; i < info.width * info.height; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = data[i];
    } else if (info.channels !== 3) {
      throw new Error(`unexpected ${info.channels} channels after conversion to RGB`);
    }
    return { data: rgb, width: info.width, height: info.height };
  } catch (err) {
    throw clips4Error(ErrorCodes.file, `Cannot decode image ${name}: ${(err as Error).message}`);
  }
}
