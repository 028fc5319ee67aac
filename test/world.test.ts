// The synthetic world: VOC layout, exact label maps, determinism, captions that only name what is
// in the image, and classes that differ in appearance (a nearest-mean colour/texture classifier on
// the single-class crops must beat chance by far).
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { decodeIndexedPng } from '../src/io/png';
import { generateWorld, LABEL_OFFSET, WORLD_CLASSES } from '../src/world';
import { regionCrop } from '../src/world/pretrain-clip';
import { makeRng } from '../src/rng';
import { tmpDir } from './helpers/tmp';

const root = tmpDir('clips4-world-');

test.serial('a tiny world has the VOC layout, exact labels and matching captions', async (t) => {
  const dir = path.join(root, 'a');
  const r = await generateWorld({ out: dir, seed: 3, train: 12, val: 4, size: 64, crops: 1 });
  t.false(r.reused);
  t.true(WORLD_CLASSES.length >= 24);
  const train = fs.readFileSync(path.join(dir, 'ImageSets/Segmentation/train.txt'), 'utf8').trim().split('\n');
  const val = fs.readFileSync(path.join(dir, 'ImageSets/Segmentation/val.txt'), 'utf8').trim().split('\n');
  t.is(train.length, 12);
  t.is(val.length, 4);
  const captions = fs.readFileSync(path.join(dir, 'captions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; caption: string });
  t.is(captions.length, 16);
  for (const id of [...train, ...val]) {
    const meta = await sharp(path.join(dir, 'JPEGImages', `${id}.jpg`)).metadata();
    const label = decodeIndexedPng(fs.readFileSync(path.join(dir, 'SegmentationClass', `${id}.png`)));
    t.deepEqual([meta.width, meta.height], [label.width, label.height]);
    const present = new Set<string>();
    for (const v of label.data) {
      t.true(v >= LABEL_OFFSET && v < LABEL_OFFSET + WORLD_CLASSES.length, `label value ${v}`);
      present.add(WORLD_CLASSES[v - LABEL_OFFSET]);
    }
    const cap = captions.find((c) => c.id === id)!.caption;
    // Every class word in the caption is a class in the image (match longest names first).
    let rest = ` ${cap.toLowerCase()} `;
    for (const name of [...WORLD_CLASSES].sort((a, b) => b.length - a.length)) {
      if (rest.includes(` ${name}`)) {
        t.true(present.has(name), `caption '${cap}' names ${name}, absent from ${id}`);
        rest = rest.split(` ${name}`).join(' ');
      }
    }
  }
  const again = await generateWorld({ out: dir, seed: 3, train: 12, val: 4, size: 64, crops: 1 });
  t.true(again.reused);
});

test.serial('deterministic per seed, different across seeds', async (t) => {
  const a = path.join(root, 'd1');
  const b = path.join(root, 'd2');
  const c = path.join(root, 'd3');
  await generateWorld({ out: a, seed: 9, train: 3, val: 1, size: 48, crops: 0 });
  await generateWorld({ out: b, seed: 9, train: 3, val: 1, size: 48, crops: 0 });
  await generateWorld({ out: c, seed: 10, train: 3, val: 1, size: 48, crops: 0 });
  const read = (d: string, f: string) => fs.readFileSync(path.join(d, f));
  for (const f of ['JPEGImages/w000000.jpg', 'SegmentationClass/w000002.png', 'captions.jsonl']) t.true(read(a, f).equals(read(b, f)), f);
  t.false(read(a, 'SegmentationClass/w000000.png').equals(read(c, 'SegmentationClass/w000000.png')) && read(a, 'JPEGImages/w000001.jpg').equals(read(c, 'JPEGImages/w000001.jpg')));
  await t.throwsAsync(generateWorld({ out: a, seed: 1, train: 0 }), { message: /Expected an integer between 1 and 10000000 for options.train but received number 0/ });
  fs.writeFileSync(path.join(root, 'file.txt'), 'x');
  await t.throwsAsync(generateWorld({ out: root, train: 1, val: 1 }), { message: /is not empty and holds no world/ });
});

test.serial('classes look different: a nearest-mean colour/texture classifier beats chance by far', async (t) => {
  const dir = path.join(root, 'crops');
  await generateWorld({ out: dir, seed: 5, train: 1, val: 1, size: 48, crops: 8 });
  const crops = JSON.parse(fs.readFileSync(path.join(dir, 'crops.json'), 'utf8')) as { file: string; class: string }[];
  // Features: mean RGB, RGB std and mean absolute horizontal/vertical gradient of the central half.
  const feats = await Promise.all(
    crops.map(async (c) => {
      const { data, info } = await sharp(path.join(dir, c.file)).raw().toBuffer({ resolveWithObject: true });
      const w = info.width;
      const f = new Array(8).fill(0);
      let n = 0;
      for (let y = w / 4; y < (3 * w) / 4; y++) {
        for (let x = w / 4; x < (3 * w) / 4; x++) {
          const i = (y * w + x) * 3;
          for (let k = 0; k < 3; k++) {
            f[k] += data[i + k];
            f[3 + k] += data[i + k] ** 2;
          }
          f[6] += Math.abs(data[i] - data[i + 3]);
          f[7] += Math.abs(data[i] - data[i + w * 3]);
          n++;
        }
      }
      for (let k = 0; k < 3; k++) {
        f[k] /= n;
        f[3 + k] = Math.sqrt(f[3 + k] / n - f[k] ** 2);
      }
      f[6] /= n;
      f[7] /= n;
      return f;
    }),
  );
  // Leave-one-out nearest class mean.
  let correct = 0;
  crops.forEach((c, i) => {
    let best = '';
    let bestD = Infinity;
    for (const name of WORLD_CLASSES) {
      const idx = crops.map((x, j) => (x.class === name && j !== i ? j : -1)).filter((j) => j >= 0);
      const mean = feats[idx[0]].map((_, k) => idx.reduce((a, j) => a + feats[j][k], 0) / idx.length);
      const d = mean.reduce((a, m, k) => a + (m - feats[i][k]) ** 2, 0);
      if (d < bestD) {
        bestD = d;
        best = name;
      }
    }
    if (best === c.class) correct++;
  });
  const acc = correct / crops.length;
  t.true(acc > 5 / WORLD_CLASSES.length, `accuracy ${(acc * 100).toFixed(1)}% vs chance ${(100 / WORLD_CLASSES.length).toFixed(1)}%`);
});

test('region crops for CLIP pretraining are captioned with the classes that cover them', (t) => {
  // 96² image: sky above row 40, grass below; a small sun in the sky's top-left corner.
  const size = 96;
  const names = ['sky', 'grass', 'sun'];
  const label = { data: new Uint8Array(size * size), width: size };
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) label.data[y * size + x] = y < 40 ? (x < 10 && y < 10 ? 2 : 0) : 1;
  const img = { data: new Uint8Array(size * size * 3), width: size, height: size };
  const r = makeRng(4);
  const seen = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const c = regionCrop(img, label, names, r, 48, [0.2, 0.3], 0.15);
    t.is(c.view.width, 48);
    // The caption names only classes covering at least 15% of the crop, or its largest one.
    const counts = [0, 0, 0];
    for (let y = c.box.y0; y < c.box.y0 + c.box.s; y++) for (let x = c.box.x0; x < c.box.x0 + c.box.s; x++) counts[label.data[y * size + x]]++;
    const largest = counts.indexOf(Math.max(...counts));
    const eligible = names.filter((_, k) => k === largest || counts[k] >= 0.15 * c.box.s * c.box.s);
    const named = names.filter((n) => new RegExp(`\\b${n}\\b`).test(c.text));
    t.true(named.length >= 1 && named.every((n) => eligible.includes(n)), `${c.text}: eligible ${eligible}`);
    for (const n of named) seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  t.true((seen.get('grass') ?? 0) > 150 && (seen.get('sky') ?? 0) > 100, JSON.stringify([...seen]));
  // A crop entirely inside the grass names grass alone.
  const grassOnly = regionCrop(img, { data: new Uint8Array(size * size).fill(1), width: size }, names, r, 48, [0.3, 0.3], 0.15);
  t.deepEqual(names.filter((n) => new RegExp(`\\b${n}\\b`).test(grassOnly.text)), ['grass']);
});
