// Dataset readers in the datasets' own layouts. Each validates its layout up front and says what is
// missing and where; items are (id, image path, label path?) and labels are read as exact indices.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classNames } from '../clip/templates';
import { clips4Error, ErrorCodes } from '../errors';
import { decodeIndexedPng } from '../io/png';

export interface Item {
  id: string;
  image: string;
  label?: string;
}

export interface Dataset {
  name: string;
  root: string;
  items: Item[];
  /** Class names in label-index order (undefined for unlabelled folders and DAVIS). */
  classes?: string[];
  /** Maps a raw label value to the training id (255 = ignore). */
  mapLabel?: (v: number) => number;
}

function missing(what: string, where: string, hint: string): Error {
  return clips4Error(ErrorCodes.dataset, `${what} not found: ${where} (${hint})`);
}

function needDir(dir: string, hint: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw missing('folder', dir, hint);
}

function readList(file: string, hint: string): string[] {
  if (!fs.existsSync(file)) throw missing('split list', file, hint);
  return fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean).map((l) => path.basename(l).replace(/\.[^.]+$/, ''));
}

function checkItems(items: Item[], name: string): Item[] {
  const absent = items.filter((it) => !fs.existsSync(it.image) || (it.label !== undefined && !fs.existsSync(it.label)));
  if (absent.length) {
    const first = absent[0];
    const which = !fs.existsSync(first.image) ? first.image : first.label;
    throw clips4Error(ErrorCodes.dataset, `${name}: ${absent.length} listed item(s) have missing files, e.g. ${which}`);
  }
  return items;
}

/** Pascal VOC 2012 (`VOCdevkit/VOC2012` or the VOC2012 folder itself); split 'train_aug' uses SBD's SegmentationClassAug. */
export function vocDataset(root: string, split = 'val'): Dataset {
  const base = fs.existsSync(path.join(root, 'VOC2012')) ? path.join(root, 'VOC2012') : fs.existsSync(path.join(root, 'VOCdevkit', 'VOC2012')) ? path.join(root, 'VOCdevkit', 'VOC2012') : root;
  const hint = 'expected VOCdevkit/VOC2012 with JPEGImages, SegmentationClass and ImageSets/Segmentation';
  needDir(path.join(base, 'JPEGImages'), hint);
  const aug = split === 'train_aug';
  const labels = path.join(base, aug ? 'SegmentationClassAug' : 'SegmentationClass');
  needDir(labels, aug ? 'the SBD-augmented labels (SegmentationClassAug) are needed for train_aug' : hint);
  const list = aug
    ? [path.join(base, 'ImageSets/Segmentation/train_aug.txt'), path.join(base, 'train_aug.txt')].find((f) => fs.existsSync(f)) ?? path.join(base, 'ImageSets/Segmentation/train_aug.txt')
    : path.join(base, 'ImageSets/Segmentation', `${split}.txt`);
  const ids = readList(list, hint);
  const items = ids.map((id) => ({ id, image: path.join(base, 'JPEGImages', `${id}.jpg`), label: path.join(labels, `${id}.png`) }));
  return { name: `voc-${split}`, root: base, items: checkItems(items, 'Pascal VOC'), classes: classNames('voc21'), mapLabel: (v) => v };
}

/** Pascal Context-59, converted layout: JPEGImages/ + SegmentationClassContext/ (0 = background → ignored, c → c − 1) + ImageSets/SegmentationContext/{train,val}.txt. */
export function contextDataset(root: string, split = 'val'): Dataset {
  const hint = 'expected JPEGImages, SegmentationClassContext and ImageSets/SegmentationContext/<split>.txt (the common 59-class conversion)';
  needDir(path.join(root, 'JPEGImages'), hint);
  needDir(path.join(root, 'SegmentationClassContext'), hint);
  const ids = readList(path.join(root, 'ImageSets/SegmentationContext', `${split}.txt`), hint);
  const items = ids.map((id) => ({ id, image: path.join(root, 'JPEGImages', `${id}.jpg`), label: path.join(root, 'SegmentationClassContext', `${id}.png`) }));
  return { name: `context59-${split}`, root, items: checkItems(items, 'Pascal Context'), classes: classNames('context59'), mapLabel: (v) => (v === 0 || v > 59 ? 255 : v - 1) };
}

/** COCO-Stuff-164k converted: images/{train2017,val2017}/*.jpg and annotations/{…}/*.png with train ids 0..170, 255 unlabelled. */
export function cocoStuffDataset(root: string, split = 'val2017'): Dataset {
  const hint = 'expected images/<split> and annotations/<split> (label PNGs with train ids 0..170)';
  const imgDir = path.join(root, 'images', split);
  const annDir = path.join(root, 'annotations', split);
  needDir(imgDir, hint);
  needDir(annDir, hint);
  const items = fs.readdirSync(annDir).filter((f) => f.endsWith('.png')).sort().map((f) => {
    const id = f.replace(/(_labelTrainIds)?\.png$/, '');
    return { id, image: path.join(imgDir, `${id}.jpg`), label: path.join(annDir, f) };
  });
  if (items.length === 0) throw missing('label PNGs', annDir, hint);
  return { name: `cocostuff-${split}`, root, items: checkItems(items, 'COCO-Stuff'), classes: classNames('cocostuff171'), mapLabel: (v) => (v > 170 ? 255 : v) };
}

/**
 * A generated world (`clips4 world generate`): VOC's folders (JPEGImages, SegmentationClass,
 * ImageSets/Segmentation/<split>.txt) with its class names and label offset in classes.json.
 */
export function worldDataset(root: string, split = 'train'): Dataset {
  const hint = `a generated world: run 'clips4 world generate --out ${root}' first`;
  const file = path.join(root, 'classes.json');
  if (!fs.existsSync(file)) throw missing('classes.json', file, hint);
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { names: string[]; labelOffset: number };
  const ids = readList(path.join(root, 'ImageSets/Segmentation', `${split}.txt`), hint);
  const items = ids.map((id) => ({ id, image: path.join(root, 'JPEGImages', `${id}.jpg`), label: path.join(root, 'SegmentationClass', `${id}.png`) }));
  return { name: `world-${split}`, root, items: checkItems(items, 'world'), classes: c.names, mapLabel: (v) => (v === 255 ? 255 : v - c.labelOffset) };
}

export interface DavisSequence {
  name: string;
  frames: string[];
  annotations: string[];
}

/** DAVIS-2017 semi-supervised: JPEGImages/480p/<seq>, Annotations/480p/<seq>, ImageSets/2017/<split>.txt. */
export function davisSequences(root: string, split = 'val'): DavisSequence[] {
  const hint = 'expected JPEGImages/480p/<seq>, Annotations/480p/<seq> and ImageSets/2017/<split>.txt';
  needDir(path.join(root, 'JPEGImages', '480p'), hint);
  needDir(path.join(root, 'Annotations', '480p'), hint);
  return readList(path.join(root, 'ImageSets', '2017', `${split}.txt`), hint).map((name) => {
    const fdir = path.join(root, 'JPEGImages', '480p', name);
    const adir = path.join(root, 'Annotations', '480p', name);
    needDir(fdir, `sequence ${name} is listed in ImageSets/2017/${split}.txt`);
    needDir(adir, `sequence ${name} is listed in ImageSets/2017/${split}.txt`);
    const frames = fs.readdirSync(fdir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    const annotations = fs.readdirSync(adir).filter((f) => f.endsWith('.png')).sort();
    if (!annotations.includes(frames[0]?.replace(/\.[^.]+$/, '.png'))) throw missing('first-frame annotation', path.join(adir, (frames[0] ?? '00000.jpg').replace(/\.[^.]+$/, '.png')), 'semi-supervised evaluation needs the first frame mask');
    return { name, frames: frames.map((f) => path.join(fdir, f)), annotations: annotations.map((f) => path.join(adir, f)) };
  });
}

/** Any folder of images (recursively), without labels: training on your own photos. */
export function folderDataset(root: string): Dataset {
  needDir(root, 'a folder of .jpg/.jpeg/.png/.webp images');
  const items: Item[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(jpe?g|png|webp|tiff?)$/i.test(e.name)) items.push({ id: path.relative(root, p).replace(/\.[^.]+$/, ''), image: p });
    }
  };
  walk(root);
  if (items.length === 0) throw missing('images', root, 'the folder holds no .jpg/.jpeg/.png/.webp/.tif files');
  return { name: 'folder', root, items };
}

/** Reads an item's label as training ids (dataset mapping applied), checking it matches the image size. */
export function readLabel(ds: Dataset, item: Item, imageSize?: { width: number; height: number }): { data: Uint8Array; width: number; height: number } {
  if (!item.label) throw clips4Error(ErrorCodes.dataset, `${item.image} has no label map in ${ds.name}`);
  const png = decodeIndexedPng(fs.readFileSync(item.label), item.label);
  if (imageSize && (png.width !== imageSize.width || png.height !== imageSize.height)) {
    throw clips4Error(ErrorCodes.dataset, `label map ${item.label} is ${png.width}×${png.height} but its image ${item.image} is ${imageSize.width}×${imageSize.height}`);
  }
  const map = ds.mapLabel ?? ((v: number) => v);
  const data = new Uint8Array(png.data.length);
  for (let i = 0; i < data.length; i++) data[i] = map(png.data[i]);
  return { data, width: png.width, height: png.height };
}

/**
 * An item's label (training ids) at width × height, nearest neighbour: 'fill' stretches the whole
 * map (an image resized as a whole), 'cover' scales the shorter side and centre-crops (an image
 * resized and centre-cropped, as sharp's 'cover').
 */
export async function resizedLabel(ds: Dataset, item: Item, width: number, height: number, fit: 'fill' | 'cover' = 'fill'): Promise<Uint8Array> {
  const l = readLabel(ds, item);
  if (l.width === width && l.height === height) return l.data;
  // Source pixels per target pixel along each axis, and the source offset of the kept window.
  const s = fit === 'cover' ? Math.min(l.width / width, l.height / height) : NaN;
  const sx = fit === 'cover' ? s : l.width / width;
  const sy = fit === 'cover' ? s : l.height / height;
  const ox = (l.width - sx * width) / 2;
  const oy = (l.height - sy * height) / 2;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = Math.min(l.height - 1, Math.floor(oy + (y + 0.5) * sy)) * l.width;
    for (let x = 0; x < width; x++) out[y * width + x] = l.data[row + Math.min(l.width - 1, Math.floor(ox + (x + 0.5) * sx))];
  }
  return out;
}
