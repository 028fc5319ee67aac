import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { CLIP_MEAN, CLIP_STD, denormalizeImage, loadImage, normalizeImages, resizeKeepAspect, resizeShorterCenterCrop } from '../src/image';
import { tmpDir } from './helpers/tmp';

const dir = tmpDir();

// A 4×2 image: left half red, right half blue.
function halves(): Buffer {
  const px = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) px.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
  return px;
}

test('EXIF orientation is applied', async (t) => {
  const file = path.join(dir, 'rot.jpg');
  // Orientation 6 = rotate 90° clockwise to display: a 4×2 stored image displays as 2×4.
  await sharp(halves(), { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(file);
  const img = await loadImage(file);
  t.is(img.width, 2);
  t.is(img.height, 4);
  // After a clockwise turn the stored left (red) half is at the top.
  t.true(img.data[0] > 200 && img.data[2] < 60, `top-left is red: ${img.data.slice(0, 3)}`);
  const last = (img.width * img.height - 1) * 3;
  t.true(img.data[last + 2] > 200 && img.data[last] < 60, 'bottom-right is blue');
});

test('alpha, grayscale, 16-bit and CMYK inputs become 8-bit RGB', async (t) => {
  const rgba = await sharp({ create: { width: 3, height: 3, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer();
  const a = await loadImage(rgba);
  t.deepEqual([a.width, a.height, a.data.length], [3, 3, 27]);
  t.deepEqual(Array.from(a.data.slice(0, 3)), [10, 20, 30]);
  const grey = await sharp(Buffer.from([0, 128, 255, 64]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
  const g = await loadImage(grey);
  t.deepEqual(Array.from(g.data.slice(0, 6)), [0, 0, 0, 128, 128, 128]);
  const sixteen = await sharp(Buffer.from(new Uint16Array([0, 65535, 32768, 65535, 0, 0]).buffer), { raw: { width: 2, height: 1, channels: 3, premultiplied: false } })
    .toColourspace('rgb16')
    .png()
    .toBuffer()
    .catch(() => sharp({ create: { width: 2, height: 1, channels: 3, background: '#ff8000' } }).png({ force: true }).toBuffer());
  const s = await loadImage(sixteen);
  t.is(s.data.length, 6);
  const cmyk = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#00ff00' } }).toColourspace('cmyk').jpeg().toBuffer();
  t.is((await sharp(cmyk).metadata()).space, 'cmyk');
  const c = await loadImage(cmyk);
  t.is(c.data.length, 12);
  t.true(c.data[1] > c.data[0] && c.data[1] > c.data[2] + 100, `CMYK green decodes with green dominant: ${c.data.slice(0, 3)}`);
});

test('corrupt, truncated, empty, missing and oversized images are refused with the file named', async (t) => {
  const good = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const truncated = path.join(dir, 'trunc.jpg');
  fs.writeFileSync(truncated, good.subarray(0, good.length >> 1));
  await t.throwsAsync(loadImage(truncated), { code: 'ERR_CLIPS4_FILE', message: new RegExp(`^Cannot decode image ${truncated}:`) });
  const garbage = path.join(dir, 'garbage.png');
  fs.writeFileSync(garbage, 'not an image at all');
  await t.throwsAsync(loadImage(garbage), { code: 'ERR_CLIPS4_FILE', message: new RegExp(`^Cannot decode image ${garbage}:`) });
  const empty = path.join(dir, 'empty.jpg');
  fs.writeFileSync(empty, '');
  await t.throwsAsync(loadImage(empty), { message: `Cannot decode image ${empty}: the file is empty` });
  await t.throwsAsync(loadImage(path.join(dir, 'missing.jpg')), { message: /no such file/ });
  await t.throwsAsync(loadImage(good, { maxPixels: 1000 }), { message: /has 64×64 = 4096 pixels, over the limit of 1000/ });
  await t.throwsAsync(loadImage({ data: new Uint8Array(5), width: 2, height: 2 }), { code: 'ERR_CLIPS4_SHAPE', message: /Expected 12 bytes/ });
});

test('normalisation matches (x/255 - mean)/std per channel and inverts', (t) => {
  const img = { data: new Uint8Array([0, 128, 255, 10, 20, 30]), width: 2, height: 1 };
  const tns = normalizeImages([img]);
  t.deepEqual(tns.shape, [1, 3, 1, 2]);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 2; p++) {
      const want = (img.data[p * 3 + c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
      t.true(Math.abs(tns.data[c * 2 + p] - want) < 1e-5);
    }
  }
  t.deepEqual(Array.from(denormalizeImage(tns, 0).data), Array.from(img.data));
  t.throws(() => normalizeImages([img, { data: new Uint8Array(3), width: 1, height: 1 }]), { message: /image 1 is 1×1/ });
});

test('resize policies: shorter side + centre crop, aspect kept with multiples of the patch', async (t) => {
  const img = { data: new Uint8Array(100 * 50 * 3).fill(90), width: 100, height: 50 };
  const c = await resizeShorterCenterCrop(img, 32);
  t.deepEqual([c.width, c.height], [32, 32]);
  const k = await resizeKeepAspect(img, { shorter: 32, multipleOf: 16 });
  t.deepEqual([k.width, k.height], [64, 32]);
});
