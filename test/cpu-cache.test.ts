// The caching CPU allocator: large blocks are reused, results are unchanged, it can be emptied,
// and CLIPS4_CPU_CACHE_MB=0 leaves ATen's own allocator in place.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cpuCache, emptyCpuCache, matmul } from '../src/index';
import { zeros } from '../src/tensor';

const repoRoot = path.join(__dirname, '..');

function naive(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}

test.serial('repeated large products reuse cached blocks and stay exact', async (t) => {
  t.true(cpuCache().enabled);
  // 600 x 500 float32 = 1.2 MB per tensor: above the 256 KiB caching floor.
  const [m, k, n] = [600, 40, 500];
  const a = zeros('float32', [m, k]);
  const b = zeros('float32', [k, n]);
  a.data.forEach((_, i) => (a.data[i] = ((i * 7) % 13) - 6));
  b.data.forEach((_, i) => (b.data[i] = ((i * 5) % 11) - 5));
  const expected = naive(a.data, b.data, m, k, n);
  await matmul(a, b);
  const before = cpuCache();
  for (let r = 0; r < 3; r++) {
    const c = await matmul(a, b);
    t.true(c.data.every((v, i) => v === expected[i]), `round ${r}`); // small integers: exact in float32
  }
  const after = cpuCache();
  t.true(after.hits >= before.hits + 3, `hits ${before.hits} → ${after.hits}`);
  t.true(after.cachedBytes > 0);
  emptyCpuCache();
  t.is(cpuCache().cachedBytes, 0);
  t.true((await matmul(a, b)).data.every((v, i) => v === expected[i]));
});

test.serial('products of many sizes reuse blocks of nearby sizes: the cache does not keep one block per size', async (t) => {
  // 40 output sizes from 2000×500 down to 440×500 floats (4 to 0.9 MB, 80 kB apart: more than the
  // 64 KiB granule), as a dataset of images of many sizes asks for: blocks within a quarter of a
  // request serve it, so the free blocks stay a few (~16 MB), where one per size held ~96 MB.
  emptyCpuCache();
  const [k, n] = [40, 500];
  const b = zeros('float32', [k, n]);
  b.data.forEach((_, i) => (b.data[i] = ((i * 5) % 11) - 5));
  const largest = 2000 * n * 4;
  for (let r = 0; r < 40; r++) {
    const m = 2000 - 40 * r;
    const a = zeros('float32', [m, k]);
    a.data.forEach((_, i) => (a.data[i] = ((i * 7) % 13) - 6));
    const c = await matmul(a, b);
    t.is(c.data.length, m * n);
    if (r === 39) {
      const expected = naive(a.data, b.data, m, k, n);
      t.true(c.data.every((v, i) => v === expected[i]));
    }
  }
  const { cachedBytes } = cpuCache();
  t.true(cachedBytes > 0 && cachedBytes <= 6 * largest, `${(cachedBytes / 2 ** 20).toFixed(1)} MiB of free blocks after 40 sizes (the largest request ${(largest / 2 ** 20).toFixed(1)} MiB)`);
});

test('CLIPS4_CPU_CACHE_MB=0 disables the cache', (t) => {
  const r = spawnSync(process.execPath, ['--import=tsx', '-e', "console.log(JSON.stringify(require('./src/index').cpuCache()));"], {
    cwd: repoRoot,
    env: { ...process.env, CLIPS4_CPU_CACHE_MB: '0' },
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { enabled: false, cachedBytes: 0, hits: 0, misses: 0 });
});
