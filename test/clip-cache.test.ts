// The CLIP feature cache resumes an interrupted build computing only the missing records, ending
// byte-identical to an uninterrupted build, and is rebuilt from scratch when the weights,
// variant, resolution or image list change.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { buildClipCache, cacheKey } from '../src/data/clip-cache';
import type { Clip } from '../src/clip/clip';
import { clipTeacher, oracleTeacher } from '../src/train/teacher';
import { floatToHalf, halfToFloat, halfsToFloats } from '../src/tensor';
import { FAKE, fakePer, fakeTeacher, fakeValue } from './helpers/fake-teacher';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const { E, h, w } = FAKE;
const per = fakePer;
const value = fakeValue;
const teacher = fakeTeacher;

// Teacher ids as the teachers write them (only `id` and `info` of the CLIP are read).
const clipLike = (id: string) => ({ id, info: { kind: 'vit', patchSize: 16 } }) as unknown as Clip;
const text = { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array([1, 0, 0, 1]) };
const oracle = (corruption: number) => oracleTeacher({ text, label: async () => new Uint8Array(0), grid: () => ({ fh: 1, fw: 1 }), corruption, noise: 0.1, seed: 0 }).id;
const parts = { teacher: clipTeacher(clipLike('w.safetensors:1234:5678'), 'maskclip', 0).id, resolution: 448, images: ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'f.jpg', 'g.jpg'] };
const count = parts.images.length;

test('an interrupted build resumes with only the missing records and ends identical to an uninterrupted one', async (t) => {
  const whole = tmpDir('clips4-cache-whole-');
  const key = cacheKey(parts);
  const wholeCalls: number[] = [];
  const a = await buildClipCache(whole, key, count, teacher(wholeCalls), { batch: 2 });
  t.deepEqual(wholeCalls, [0, 1, 2, 3, 4, 5, 6]);
  t.deepEqual(a.index, { key, count, done: count, runs: [[E, h, w, count]] });
  for (let i = 0; i < count; i++) t.deepEqual(a.read(i), Float32Array.from({ length: per }, (_, k) => halfToFloat(floatToHalf(value(i, k)))));

  const resumed = tmpDir('clips4-cache-resumed-');
  const first: number[] = [];
  const progress: number[] = [];
  await t.throwsAsync(buildClipCache(resumed, key, count, teacher(first, 5), { batch: 2, onProgress: (d) => progress.push(d) }), { message: 'interrupted' });
  t.deepEqual(first, [0, 1, 2, 3]);
  t.deepEqual(progress, [0, 2, 4], 'where the pass starts, then after each batch');
  const second: number[] = [];
  const resumedProgress: number[] = [];
  const b = await buildClipCache(resumed, key, count, teacher(second), { batch: 2, onProgress: (d) => resumedProgress.push(d) });
  t.deepEqual(second, [4, 5, 6], 'only the records missing after the interruption are computed');
  t.deepEqual(resumedProgress, [4, 6, 7], 'a resumed pass starts where the interrupted one stopped');
  t.deepEqual(b.index, a.index);
  t.deepEqual(fs.readFileSync(b.file), fs.readFileSync(a.file));
  t.is(path.basename(b.file), path.basename(a.file));

  const third: number[] = [];
  await buildClipCache(resumed, key, count, teacher(third), { batch: 2 });
  t.deepEqual(third, [], 'a complete cache computes nothing');
});

test('a build killed (SIGKILL) mid-way resumes with only the missing records and ends identical', async (t) => {
  const key = cacheKey(parts);
  const whole = tmpDir('clips4-cache-whole2-');
  const a = await buildClipCache(whole, key, count, teacher([]), { batch: 2 });
  const dir = tmpDir('clips4-cache-killed-');
  const r = spawnSync(process.execPath, ['--import=tsx', path.join(repoRoot, 'test', 'helpers', 'clip-cache-child.ts'), dir, key, String(count), '4', '2'], { encoding: 'utf8', cwd: repoRoot });
  t.is(r.signal, 'SIGKILL', r.stderr);
  const calls: number[] = [];
  const b = await buildClipCache(dir, key, count, teacher(calls), { batch: 2 });
  t.deepEqual(calls, [4, 5, 6]);
  t.deepEqual(fs.readFileSync(b.file), fs.readFileSync(a.file));
});

test('records written but not yet indexed when the build stopped are computed again', async (t) => {
  const dir = tmpDir('clips4-cache-torn-');
  const key = cacheKey(parts);
  await t.throwsAsync(buildClipCache(dir, key, count, teacher([], 4), { batch: 2 }));
  // Simulate a kill after writing garbage past the indexed records but before the index update.
  const file = path.join(dir, `clip-${key}.f16`);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(per * 2 * 2, 0xab), 0, per * 2 * 2, 4 * per * 2);
  fs.closeSync(fd);
  const calls: number[] = [];
  const c = await buildClipCache(dir, key, count, teacher(calls), { batch: 2 });
  t.deepEqual(calls, [4, 5, 6]);
  t.deepEqual(c.read(4), Float32Array.from({ length: per }, (_, k) => halfToFloat(floatToHalf(value(4, k)))));
});

test('changing the weights, variant, teacher side, teacher kind, resolution or image list rebuilds the cache', async (t) => {
  const dir = tmpDir('clips4-cache-key-');
  const base = cacheKey(parts);
  await buildClipCache(dir, base, count, teacher([]), { batch: 4 });
  const changes = [
    { ...parts, teacher: clipTeacher(clipLike('w.safetensors:1234:9999'), 'maskclip', 0).id },
    { ...parts, teacher: clipTeacher(clipLike('w.safetensors:1234:5678'), 'sclip', 0).id },
    { ...parts, teacher: clipTeacher(clipLike('w.safetensors:1234:5678'), 'maskclip', 448).id },
    { ...parts, teacher: oracle(0.2) },
    { ...parts, teacher: oracle(0.4) },
    { ...parts, resolution: 336 },
    { ...parts, images: [...parts.images.slice(0, -1), 'h.jpg'] },
    { ...parts, images: [...parts.images].reverse() },
  ];
  const keys = new Set([base]);
  for (const changed of changes) {
    const key = cacheKey(changed);
    t.false(keys.has(key), `a new key for ${JSON.stringify(changed)}`);
    keys.add(key);
    const calls: number[] = [];
    await buildClipCache(dir, key, changed.images.length, teacher(calls), { batch: 4 });
    t.deepEqual(calls, [0, 1, 2, 3, 4, 5, 6], 'every record is computed again');
  }
  t.is(cacheKey({ ...parts }), base, 'the key depends only on its parts');
  const again: number[] = [];
  await buildClipCache(dir, base, count, teacher(again), { batch: 4 });
  t.deepEqual(again, [], 'the original cache is still there and complete');
});

test('an index whose record file is shorter than it claims is not trusted', async (t) => {
  const dir = tmpDir('clips4-cache-short-');
  const key = cacheKey(parts);
  const c = await buildClipCache(dir, key, count, teacher([]), { batch: 4 });
  fs.truncateSync(c.file, per * 2 * 3);
  const calls: number[] = [];
  await buildClipCache(dir, key, count, teacher(calls), { batch: 4 });
  t.deepEqual(calls, [0, 1, 2, 3, 4, 5, 6]);
});

test('one builder per cache: a second build of the same cache at once is refused with the fix; a lock left by a dead process is taken over', async (t) => {
  const dir = tmpDir('clips4-cache-lock-');
  const key = cacheKey(parts);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = async (idx: number[]) => {
    await gate;
    return teacher([])(idx);
  };
  const first = buildClipCache(dir, key, count, slow, { batch: 2 });
  await new Promise((r) => setTimeout(r, 50));
  await t.throwsAsync(buildClipCache(dir, key, count, teacher([]), { batch: 2 }), { message: /is being built by another run in this process: wait for it to finish \(the cache is then shared\), or give this run another data\.cache/ });
  release();
  await first;
  const calls: number[] = [];
  await buildClipCache(dir, key, count, teacher(calls), { batch: 2 });
  t.deepEqual(calls, [], 'the finished cache is shared without computing anything');
  // A builder that died (SIGKILL) leaves its lock; its pid is gone, so the next build takes over.
  const other = tmpDir('clips4-cache-stale-');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  fs.writeFileSync(path.join(other, `clip-${key}.f16.lock`), dead);
  const again: number[] = [];
  await buildClipCache(other, key, count, teacher(again), { batch: 2 });
  t.deepEqual(again, [0, 1, 2, 3, 4, 5, 6]);
  t.false(fs.existsSync(path.join(other, `clip-${key}.f16.lock`)), 'the lock goes with the build');
});

// A stand-in teacher whose image i has features [E, 1 + i % 3, 2 + (i * 2) % 5]: shapes change
// from record to record (and within one teacher call, given as consecutive same-shape parts).
const mixedShape = (i: number): [number, number, number] => [E, 1 + (i % 3), 2 + ((i * 2) % 5)];
const mixedValue = (i: number, k: number) => Math.cos(i * 3.3 + k * 0.21) * (2 + i);
function mixedTeacher(calls: number[], failFrom = Infinity) {
  return async (ids: number[]) => {
    if (ids.some((i) => i >= failFrom)) throw new Error('interrupted');
    calls.push(...ids);
    return ids.map((i) => {
      const [e, hh, ww] = mixedShape(i);
      return { dtype: 'float32' as const, shape: [1, e, hh, ww], data: Float32Array.from({ length: e * hh * ww }, (_, k) => mixedValue(i, k)) };
    });
  };
}

test('records of different shapes: each keeps its own shape, back to back at the offsets the index gives, and a build resumes', async (t) => {
  const key = cacheKey({ ...parts, resolution: 'mixed' });
  const whole = tmpDir('clips4-cache-mixed-');
  const a = await buildClipCache(whole, key, count, mixedTeacher([]), { batch: 3 });
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const shape = mixedShape(i);
    const n = shape[0] * shape[1] * shape[2];
    t.deepEqual(a.records[i], { offset, shape });
    t.deepEqual(a.read(i), Float32Array.from({ length: n }, (_, k) => halfToFloat(floatToHalf(mixedValue(i, k)))));
    offset += n * 2;
  }
  t.is(fs.statSync(a.file).size, offset);
  const resumed = tmpDir('clips4-cache-mixed-resumed-');
  await t.throwsAsync(buildClipCache(resumed, key, count, mixedTeacher([], 4), { batch: 2 }), { message: 'interrupted' });
  const calls: number[] = [];
  const b = await buildClipCache(resumed, key, count, mixedTeacher(calls), { batch: 2 });
  t.deepEqual(calls, [4, 5, 6]);
  t.deepEqual(b.records, a.records);
  t.deepEqual(fs.readFileSync(b.file), fs.readFileSync(a.file));
});

test('a complete cache of the one-shape format ({shape}) is read as it is, without rebuilding', async (t) => {
  const dir = tmpDir('clips4-cache-legacy-');
  const key = cacheKey(parts);
  const c = await buildClipCache(dir, key, count, teacher([]), { batch: 4 });
  const indexFile = `${c.file}.json`;
  fs.writeFileSync(indexFile, JSON.stringify({ key, count, done: count, shape: [E, h, w] }));
  const calls: number[] = [];
  const d = await buildClipCache(dir, key, count, teacher(calls), { batch: 4 });
  t.deepEqual(calls, []);
  t.deepEqual(d.read(5), c.read(5));
  t.deepEqual(d.records, c.records);
});

test('halfsToFloats converts every float16 value as halfToFloat does', (t) => {
  const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
  const got = halfsToFloats(all);
  let wrong = 0;
  for (let h = 0; h < 65536; h++) if (!Object.is(got[h], Math.fround(halfToFloat(h)))) wrong++;
  t.is(wrong, 0);
  // Into a given array, as toFloat32 uses it.
  const out = new Float32Array(3);
  t.is(halfsToFloats(Uint16Array.of(0x3c00, 0xc000, 0x0001), out), out);
  t.deepEqual(Array.from(out), [1, -2, 2 ** -24]);
});
