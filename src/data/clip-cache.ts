// CLIP teacher features computed once per training image and stored as float16 records in one
// file, with a JSON index beside it. The build is resumable (the index records how many records
// are complete) and the cache is keyed by a hash of the weights, variant, resolution and image
// list, so any change rebuilds it.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../errors';
import { writeJsonAtomicSync } from '../io/atomic';
import { halfToFloat, toFloat16, type Tensor } from '../tensor';

export interface CacheIndex {
  key: string;
  count: number;
  done: number;
  shape: [number, number, number];
}

export interface ClipCache {
  file: string;
  index: CacheIndex;
  /** Features [E,h,w] of record i as float32. */
  read(i: number): Float32Array;
}

export function cacheKey(parts: { teacher: string; resolution: number; images: string[] }): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/**
 * Opens (building or resuming as needed) the cache for `images` in `dir`. `teacher` maps a batch
 * of image indices to features [n,E,h,w]; `onProgress` reports records done.
 */
export async function buildClipCache(
  dir: string,
  key: string,
  count: number,
  teacher: (indices: number[]) => Promise<Tensor<'float32'>>,
  options: { batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ClipCache> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `clip-${key}.f16`);
  const indexFile = `${file}.json`;
  let index: CacheIndex | undefined;
  if (fs.existsSync(indexFile)) {
    const i = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as CacheIndex;
    // The records file must hold every record the index counts as done (a truncated or replaced
    // file means starting over).
    const bytes = i.done * (i.shape ?? [0, 0, 0]).reduce((a, b) => a * b, 1) * 2;
    if (i.key === key && i.count === count && fs.existsSync(file) && fs.statSync(file).size >= bytes) index = i;
  }
  const batch = options.batch ?? 32;
  const release = index && index.done >= count ? () => {} : lockCache(file);
  let fd = fs.openSync(file, index ? 'r+' : 'w+');
  try {
    let done = index?.done ?? 0;
    let shape = index?.shape;
    while (done < count) {
      const ids = Array.from({ length: Math.min(batch, count - done) }, (_, k) => done + k);
      const f = await teacher(ids);
      const [n, E, h, w] = f.shape;
      shape ??= [E, h, w];
      const per = E * h * w;
      const half = toFloat16(f).data;
      fs.writeSync(fd, half, 0, half.byteLength, done * per * 2);
      fs.fsyncSync(fd);
      done += n;
      writeJsonAtomicSync(indexFile, { key, count, done, shape } satisfies CacheIndex);
      options.onProgress?.(done, count);
    }
    index = { key, count, done, shape: shape ?? [0, 0, 0] };
  } finally {
    fs.closeSync(fd);
    release();
  }
  fd = fs.openSync(file, 'r');
  const per = index.shape[0] * index.shape[1] * index.shape[2];
  const buf = new Uint16Array(per);
  const finalIndex = index;
  return {
    file,
    index: finalIndex,
    read(i: number): Float32Array {
      fs.readSync(fd, buf, 0, per * 2, i * per * 2);
      const out = new Float32Array(per);
      for (let k = 0; k < per; k++) out[k] = halfToFloat(buf[k]);
      return out;
    },
  };
}

/**
 * One builder per cache file: two runs sharing data.cache must not write the same records at once.
 * The lock file holds the builder's pid; a lock whose process is gone is taken over.
 */
function lockCache(file: string): () => void {
  const lock = `${file}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw clips4Error(ErrorCodes.state, `the teacher-feature cache ${file} is being built by ${pid === process.pid ? 'another run in this process' : `process ${pid}`}: wait for it to finish (the cache is then shared), or give this run another data.cache`);
      }
      fs.rmSync(lock, { force: true }); // its builder is gone: take over (the index says what is done)
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
