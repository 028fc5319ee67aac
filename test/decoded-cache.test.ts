// The cache of decoded training samples (data.memoryCache): least recently used out within its byte
// budget, one load per key however many ask at once, failed loads not kept, one cache shared by
// runs of different settings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { DecodedCache, type DecodedSample } from '../src/data/decoded-cache';
import { loadSample, type SampleRef } from '../src/data/sample-source';
import { randomImage } from './helpers/images';
import { tmpDir } from './helpers/tmp';

/** A sample of `pixels` RGB pixels (3 bytes each) and as many int32 region ids (4 bytes each): 7·pixels bytes. */
function sample(pixels: number): DecodedSample {
  return { image: { data: new Uint8Array(3 * pixels), width: pixels, height: 1 }, regions: new Int32Array(pixels) };
}

/** A loader that counts its calls per key. */
function counting() {
  const calls = new Map<string, number>();
  const load = (key: string, pixels = 10) => () => {
    calls.set(key, (calls.get(key) ?? 0) + 1);
    return Promise.resolve(sample(pixels));
  };
  return { calls, load };
}

test('keeps samples within its budget, evicting the least recently used', async (t) => {
  const cache = new DecodedCache(3 * 70); // three samples of 70 bytes
  const { calls, load } = counting();
  for (const k of ['a', 'b', 'c']) await cache.get(k, load(k));
  t.is(cache.bytes, 210);
  await cache.get('a', load('a')); // a is now the most recent: b is the least
  await cache.get('d', load('d'));
  t.is(cache.bytes, 210);
  t.is(cache.size, 3);
  await cache.get('a', load('a'));
  await cache.get('c', load('c'));
  await cache.get('d', load('d'));
  t.deepEqual(Object.fromEntries(calls), { a: 1, b: 1, c: 1, d: 1 }, 'a, c and d were held');
  await cache.get('b', load('b'));
  t.is(calls.get('b'), 2, 'b had been evicted');
});

test('a sample larger than the whole budget is returned but not kept; a zero budget keeps nothing', async (t) => {
  const cache = new DecodedCache(100);
  const { calls, load } = counting();
  t.is((await cache.get('big', load('big', 20))).regions.length, 20); // 140 bytes
  t.is(cache.bytes, 0);
  await cache.get('big', load('big', 20));
  t.is(calls.get('big'), 2);
  const none = new DecodedCache(0);
  await none.get('x', load('x'));
  await none.get('x', load('x'));
  t.is(calls.get('x'), 2);
  t.is(none.size, 0);
});

test('concurrent gets of one key share one load; a failed load is not kept', async (t) => {
  const cache = new DecodedCache(1000);
  let loads = 0;
  let release: (s: DecodedSample) => void = () => {};
  const slow = () => {
    loads++;
    return new Promise<DecodedSample>((resolve) => (release = resolve));
  };
  const both = Promise.all([cache.get('k', slow), cache.get('k', slow)]);
  release(sample(5));
  const [x, y] = await both;
  t.is(loads, 1);
  t.is(x, y);
  let fails = 0;
  const failing = () => {
    fails++;
    return Promise.reject(new Error('unreadable'));
  };
  await t.throwsAsync(cache.get('bad', failing), { message: 'unreadable' });
  await t.throwsAsync(cache.get('bad', failing), { message: 'unreadable' });
  t.is(fails, 2);
  t.is(cache.bytes, 35);
});

test('runs sharing one cache get the samples their own settings make: the key is the file, its used size and its region settings', async (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'a.png');
  // Blocks of colour (8×6 of 5×5 px), so that SLIC's segment count shows in its regions.
  const noise = randomImage(7, 40, 30, 4);
  const img = { ...noise, data: noise.data.map((v, i) => (v >> 4) + 40 * ((Math.floor((i / 3) % 40 / 5) + 3 * Math.floor(i / 3 / 40 / 5)) % 6)) };
  await sharp(img.data, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(file);
  const features = path.join(dir, 'clip.bin');
  fs.writeFileSync(features, Buffer.alloc(2)); // one float16 zero: E = fh = fw = 1
  const ref = (segments: number, width = 40, height = 30): SampleRef => ({
    file,
    original: { width: 40, height: 30 },
    width,
    height,
    regions: { source: { method: 'slic', segments }, cacheDir: path.join(dir, 'regions') },
    clip: { file: features, offset: 0, E: 1, fh: 1, fw: 1 },
  });
  const shared = new DecodedCache(2 ** 20);
  // Two runs' references to the same sample, as separate objects, share one entry...
  const a1 = await loadSample(ref(16), shared);
  const a2 = await loadSample(ref(16), shared);
  t.is(shared.size, 1);
  t.is(a2.regions, a1.regions);
  // ...and a run with other region settings, or another used size, gets its own, as loaded alone.
  const b = await loadSample(ref(4), shared);
  const c = await loadSample(ref(16, 32, 24), shared);
  t.is(shared.size, 3);
  t.deepEqual(b.regions, (await loadSample(ref(4))).regions);
  t.notDeepEqual(b.regions, a1.regions);
  t.deepEqual([c.image.width, c.image.height, c.regions.length], [32, 24, 32 * 24]);
});
