// Dataset readers on the real fixtures and on small generated trees, including broken ones.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { cocoStuffDataset, contextDataset, davisSequences, folderDataset, readLabel, vocDataset } from '../src/data/datasets';
import { loadImage } from '../src/image';
import { decodeIndexedPng, encodeIndexedPng } from '../src/io/png';
import { fixture } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

test('Pascal VOC: the 2 real images, their label values and sizes', async (t) => {
  const ds = vocDataset(fixture('real', 'VOCdevkit'), 'val');
  t.is(ds.items.length, 2);
  t.is(ds.classes!.length, 21);
  for (const item of ds.items) {
    const img = await loadImage(item.image);
    const label = readLabel(ds, item, img);
    t.deepEqual([label.width, label.height], [img.width, img.height]);
    const values = new Set(label.data);
    t.true(values.has(255), 'VOC boundaries are 255');
    t.true([...values].every((v) => v === 255 || v <= 20));
  }
  const first = readLabel(ds, ds.items.find((i) => i.id === '2007_000063')!);
  t.deepEqual([...new Set(first.data)].sort((a, b) => a - b), [0, 9, 12, 255]);
  t.throws(() => vocDataset(fixture('real', 'VOCdevkit'), 'train_aug'), { message: /SegmentationClassAug/ });
});

test('DAVIS: 2 sequences of 24 frames, object id 1', (t) => {
  const seqs = davisSequences(fixture('real', 'DAVIS'));
  t.deepEqual(seqs.map((s) => s.name).sort(), ['blackswan', 'dog']);
  for (const s of seqs) {
    t.is(s.frames.length, 24);
    t.is(s.annotations.length, 24);
    const ids = new Set(decodeIndexedPng(fs.readFileSync(s.annotations[0])).data);
    t.deepEqual([...ids].sort(), [0, 1]);
  }
});

async function jpg(file: string, w = 8, h = 6) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } }).jpeg().toFile(file);
}

function png(file: string, values: number[], w = 8, h = 6) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = new Uint8Array(w * h);
  data.forEach((_, i) => (data[i] = values[i % values.length]));
  fs.writeFileSync(file, encodeIndexedPng(data, w, h));
}

test('Pascal Context-59 and COCO-Stuff converted layouts map labels; broken trees say what is missing', async (t) => {
  const root = tmpDir('clips4-ds-');
  const ctx = path.join(root, 'context');
  await jpg(path.join(ctx, 'JPEGImages', 'a.jpg'));
  png(path.join(ctx, 'SegmentationClassContext', 'a.png'), [0, 1, 59]);
  fs.mkdirSync(path.join(ctx, 'ImageSets/SegmentationContext'), { recursive: true });
  fs.writeFileSync(path.join(ctx, 'ImageSets/SegmentationContext/val.txt'), 'a\n');
  const c = contextDataset(ctx);
  t.is(c.classes!.length, 59);
  t.deepEqual([...new Set(readLabel(c, c.items[0]).data)].sort((a, b) => a - b), [0, 58, 255]);
  const coco = path.join(root, 'coco');
  await jpg(path.join(coco, 'images', 'val2017', '000001.jpg'));
  png(path.join(coco, 'annotations', 'val2017', '000001.png'), [0, 170, 255]);
  const cs = cocoStuffDataset(coco);
  t.is(cs.classes!.length, 171);
  t.deepEqual([...new Set(readLabel(cs, cs.items[0]).data)].sort((a, b) => a - b), [0, 170, 255]);
  // Broken: a listed image without its file; a label of the wrong size; a missing folder.
  fs.writeFileSync(path.join(ctx, 'ImageSets/SegmentationContext/val.txt'), 'a\nb\n');
  t.throws(() => contextDataset(ctx), { code: 'ERR_CLIPS4_DATASET', message: /1 listed item\(s\) have missing files, e\.g\. .*b\.jpg/ });
  png(path.join(coco, 'annotations', 'val2017', '000001.png'), [1], 5, 5);
  t.throws(() => readLabel(cs, cs.items[0], { width: 8, height: 6 }), { message: /is 5×5 but its image .*000001\.jpg is 8×6/ });
  t.throws(() => cocoStuffDataset(path.join(root, 'nope')), { message: /folder not found: .*images\/val2017/ });
  t.throws(() => vocDataset(root), { message: /expected VOCdevkit\/VOC2012/ });
});

test('a folder of images without labels', async (t) => {
  const root = tmpDir('clips4-folder-');
  await jpg(path.join(root, 'b.jpg'));
  await jpg(path.join(root, 'sub', 'a.png'));
  fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
  const ds = folderDataset(root);
  t.deepEqual(ds.items.map((i) => i.id), ['b', 'sub/a']);
  t.throws(() => folderDataset(path.join(root, 'sub', 'empty-none')), { message: /folder not found/ });
});
