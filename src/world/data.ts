// Reading a generated world back: ids per split, decoded images, label maps, captions, crops.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../errors';
import { loadImage, type RawImage } from '../image/load';
import { decodeIndexedPng } from '../io/png';
import { UNKNOWN_FOLDS } from './classes';

export interface WorldInfo {
  dir: string;
  names: string[];
  labelOffset: number;
  /** The class-free folds (classes held out as unknown), see classes.ts. */
  unknownFolds: string[][];
}

export function readWorld(dir: string): WorldInfo {
  const file = path.join(dir, 'classes.json');
  if (!fs.existsSync(file)) throw clips4Error(ErrorCodes.dataset, `${dir} is not a generated world (no classes.json); run 'clips4 world generate --out ${dir}' first`);
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { names: string[]; labelOffset: number; unknownFolds?: string[][] };
  // Worlds written before the second fold existed have the same classes, so the code's folds serve.
  return { dir, names: c.names, labelOffset: c.labelOffset, unknownFolds: c.unknownFolds ?? UNKNOWN_FOLDS.map((f) => [...f]) };
}

export function splitIds(dir: string, split: 'train' | 'val'): string[] {
  return fs.readFileSync(path.join(dir, 'ImageSets/Segmentation', `${split}.txt`), 'utf8').trim().split('\n').filter(Boolean);
}

export function captionsById(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(dir, 'captions.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { id, caption } = JSON.parse(line) as { id: string; caption: string };
    m.set(id, caption);
  }
  return m;
}

/** Decodes images with limited concurrency. */
export async function loadImages(files: string[], concurrency = 16): Promise<RawImage[]> {
  const out: RawImage[] = new Array(files.length);
  for (let i = 0; i < files.length; i += concurrency) {
    const part = await Promise.all(files.slice(i, i + concurrency).map((f) => loadImage(f)));
    part.forEach((img, k) => (out[i + k] = img));
  }
  return out;
}

export function imagePath(dir: string, id: string): string {
  return path.join(dir, 'JPEGImages', `${id}.jpg`);
}

/** Label map with class indices 0..C−1 (255 stays 255). */
export function readClassLabels(dir: string, id: string, labelOffset: number): { data: Uint8Array; width: number; height: number } {
  const png = decodeIndexedPng(fs.readFileSync(path.join(dir, 'SegmentationClass', `${id}.png`)), `${id}.png`);
  const data = new Uint8Array(png.data.length);
  for (let i = 0; i < data.length; i++) data[i] = png.data[i] === 255 ? 255 : png.data[i] - labelOffset;
  return { data, width: png.width, height: png.height };
}

export function readCrops(dir: string): { file: string; class: string }[] {
  return JSON.parse(fs.readFileSync(path.join(dir, 'crops.json'), 'utf8')) as { file: string; class: string }[];
}
