// CLIP teacher features computed once per training image and stored as float16 records in one
// file, each record [E,h,w] at its image's own size, with a JSON index beside it giving the shapes
// (so the offsets). The build is resumable (the index records how many records
// are complete) and the cache is keyed by a hash of the weights, variant, resolution and image
// list, so any change rebuilds it.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../errors';
import { writeJsonAtomicSync } from '../io/atomic';
import { halfsToFloats, toFloat16, type Tensor } from '../tensor';

/** One record's shape [E, h, w]: each image's features keep its own size and aspect. */
export type RecordShape = [number, number, number];

export interface CacheIndex {
  key: string;
  count: number;
  done: number;
  /**
   * The shapes of the done records in record order, run-length encoded as [E, h, w, n] (n records
   * of that shape in a row): a dataset of one size is one run. Records are stored back to back, so
   * a record's offset is the sum of the sizes before it.
   */
  runs: [number, number, number, number][];
}

/** Where one record lies in the records file. */
export interface CacheRecord {
  /** Byte offset in the file. */
  offset: number;
  shape: RecordShape;
}

export interface ClipCache {
  file: string;
  index: CacheIndex;
  /** Offset and shape of every record. */
  records: CacheRecord[];
  /** Features [E,h,w] of record i as float32. */
  read(i: number): Float32Array;
}

export function cacheKey(parts: { teacher: string; resolution: number | string; images: string[] }): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** Offsets and shapes of the records an index's runs describe (at most `limit`). */
export function cacheRecords(runs: CacheIndex['runs'], limit = Infinity): CacheRecord[] {
  const out: CacheRecord[] = [];
  let offset = 0;
  for (const [E, h, w, n] of runs) {
    for (let k = 0; k < n && out.length < limit; k++) {
      out.push({ offset, shape: [E, h, w] });
      offset += E * h * w * 2;
    }
  }
  return out;
}

/**
 * Reads `n` float16 records that lie back to back from byte `offset` of `file`, `per` values each,
 * as float32 (one read; only these records are in memory).
 */
export function readCacheRecords(file: string, offset: number, values: number): Float32Array {
  const half = new Uint16Array(values);
  const fd = fs.openSync(file, 'r');
  try {
    const got = fs.readSync(fd, half, 0, values * 2, offset);
    if (got !== values * 2) throw clips4Error(ErrorCodes.file, `the teacher-feature cache ${file} ends before its record at byte ${offset} (${got} of ${values * 2} bytes): delete it (and its .json index) to rebuild it`);
  } finally {
    fs.closeSync(fd);
  }
  return halfsToFloats(half);
}

/** The runs of an index file as written by this or the one-shape version ({shape}: every record that shape). */
function indexRuns(i: CacheIndex & { shape?: RecordShape }): CacheIndex['runs'] | undefined {
  if (Array.isArray(i.runs)) return i.runs;
  if (Array.isArray(i.shape)) return i.done > 0 ? [[...i.shape, i.done] as [number, number, number, number]] : [];
  return undefined;
}

function addRun(runs: CacheIndex['runs'], shape: RecordShape, n: number): void {
  const last = runs[runs.length - 1];
  if (last && last[0] === shape[0] && last[1] === shape[1] && last[2] === shape[2]) last[3] += n;
  else runs.push([...shape, n]);
}

/**
 * Opens (building or resuming as needed) the cache for `images` in `dir`. `teacher` maps a batch
 * of image indices to their features: one tensor [n,E,h,w] when they share a size, or a list of
 * such tensors covering the indices in order (images of different sizes); `onProgress` reports
 * records done: where the pass starts (0, or a resumed cache's count), then after each batch.
 */
export async function buildClipCache(
  dir: string,
  key: string,
  count: number,
  teacher: (indices: number[]) => Promise<Tensor<'float32'> | Tensor<'float32'>[]>,
  options: { batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ClipCache> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `clip-${key}.f16`);
  const indexFile = `${file}.json`;
  let index: CacheIndex | undefined;
  if (fs.existsSync(indexFile)) {
    const i = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as CacheIndex & { shape?: RecordShape };
    const runs = indexRuns(i);
    // The records file must hold every record the index counts as done (a truncated or replaced
    // file means starting over).
    const bytes = (runs ?? []).reduce((a, [E, h, w, n]) => a + E * h * w * n * 2, 0);
    const counted = (runs ?? []).reduce((a, r) => a + r[3], 0);
    if (runs && counted === i.done && i.key === key && i.count === count && fs.existsSync(file) && fs.statSync(file).size >= bytes) index = { key, count, done: i.done, runs };
  }
  const batch = options.batch ?? 32;
  const release = index && index.done >= count ? () => {} : lockCache(file);
  const fd = fs.openSync(file, index ? 'r+' : 'w+');
  try {
    let done = index?.done ?? 0;
    const runs: CacheIndex['runs'] = index?.runs.map((r) => [...r] as [number, number, number, number]) ?? [];
    let bytes = runs.reduce((a, [E, h, w, n]) => a + E * h * w * n * 2, 0);
    if (done < count) options.onProgress?.(done, count); // where this pass starts (a resumed cache: part way)
    while (done < count) {
      const ids = Array.from({ length: Math.min(batch, count - done) }, (_, k) => done + k);
      const got = await teacher(ids);
      const parts = Array.isArray(got) ? got : [got];
      const n = parts.reduce((a, f) => a + f.shape[0], 0);
      if (n !== ids.length) throw clips4Error(ErrorCodes.shape, `the teacher gave features of ${n} images for ${ids.length} (records ${done}–${done + ids.length - 1})`);
      for (const f of parts) {
        const [m, E, h, w] = f.shape;
        const half = toFloat16(f).data;
        fs.writeSync(fd, half, 0, half.byteLength, bytes);
        bytes += half.byteLength;
        addRun(runs, [E, h, w], m);
      }
      fs.fsyncSync(fd);
      done += n;
      writeJsonAtomicSync(indexFile, { key, count, done, runs } satisfies CacheIndex);
      options.onProgress?.(done, count);
    }
    index = { key, count, done, runs };
  } finally {
    fs.closeSync(fd);
    release();
  }
  const records = cacheRecords(index.runs, count);
  return {
    file,
    index,
    records,
    read(i: number): Float32Array {
      const r = records[i];
      return readCacheRecords(file, r.offset, r.shape[0] * r.shape[1] * r.shape[2]);
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
