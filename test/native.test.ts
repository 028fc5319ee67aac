// The native boundary: marshalling, errors, asynchronous execution, devices, loading.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { getThreads, matmul, resolveDevice, setThreads, versions, zeros } from '../src/index';
import { addonPath, call, loadFile, loadFrom, native } from '../src/native';
import { float32, type Tensor } from '../src/tensor';
import { countTurns } from './helpers/event-loop';
import { tmpDir } from './helpers/tmp';

function randomMatrix(rows: number, cols: number, seed: number): Tensor<'float32'> {
  const t = zeros('float32', [rows, cols]);
  let s = seed;
  for (let i = 0; i < t.data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    t.data[i] = s / 2147483648 - 0.5;
  }
  return t;
}

test('native matmul equals a naive product', async (t) => {
  const a = randomMatrix(7, 5, 1);
  const b = randomMatrix(5, 3, 2);
  const c = await matmul(a, b);
  t.deepEqual(c.shape, [7, 3]);
  t.is(c.dtype, 'float32');
  for (let i = 0; i < 7; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 5; k++) s += a.data[i * 5 + k] * b.data[k * 3 + j];
      t.true(Math.abs(c.data[i * 3 + j] - s) < 1e-5);
    }
  }
});

test('wrong dtype and wrong shape are refused with precise messages', async (t) => {
  const a = float32([2, 3]);
  const ints: Tensor = { dtype: 'int32', shape: [3, 2], data: new Int32Array(6) };
  await t.throwsAsync(matmul(a, ints as Tensor<'float32'>), { instanceOf: TypeError, code: 'ERR_CLIPS4_DTYPE', message: 'Expected float32 for b.dtype but received int32' });
  await t.throwsAsync(matmul(a, float32([4, 2])), {
    instanceOf: RangeError,
    code: 'ERR_CLIPS4_SHAPE',
    message: 'Expected K = 3 in dimension 0 of b (shape [K, N]) but received [4, 2]',
  });
  await t.throwsAsync(matmul(a, { dtype: 'float32', shape: [3, 2], data: new Float32Array(5) }), {
    code: 'ERR_CLIPS4_SHAPE',
    message: 'Expected 6 elements in b.data for shape [3, 2] but received 5',
  });
  await t.throwsAsync(matmul(a, { dtype: 'float32', shape: [3, 2], data: new Float64Array(6) } as unknown as Tensor<'float32'>), {
    code: 'ERR_CLIPS4_DTYPE',
    message: 'Expected Float32Array for b.data (dtype float32) but received Float64Array of length 6',
  });
  await t.throwsAsync(matmul(a, { dtype: 'float64', shape: [3, 2], data: new Float64Array(6) } as unknown as Tensor<'float32'>), {
    message: 'Expected float32 for b.dtype but received float64',
  });
  await t.throwsAsync(matmul(a, { dtype: 'bool', shape: [3, 2], data: new Uint8Array(6) } as unknown as Tensor<'float32'>), {
    message: "Expected one of float32, float16, bfloat16, int32, int64, uint8, float64 for b.dtype but received 'bool'",
  });
});

test('the native side re-checks types and never reads out of bounds', (t) => {
  const rt = native().runtime;
  const bad = { dtype: 'float32', shape: [3, 2], data: new Float32Array(5) } as Tensor;
  t.throws(() => rt.matmul(float32([2, 3]), bad, { device: 'cpu' }), { instanceOf: TypeError, code: 'ERR_CLIPS4_SHAPE', message: 'Data length of b does not match its shape' });
  const mismatched = { dtype: 'int32', shape: [1], data: new Float32Array(1) } as unknown as Tensor;
  t.throws(() => rt.matmul(mismatched, mismatched, { device: 'cpu' }), { code: 'ERR_CLIPS4_DTYPE', message: 'Typed array of a does not match its dtype' });
});

test('LibTorch errors arrive without a C++ backtrace and with the caller stack', async (t) => {
  // Bypass the TypeScript checks to reach LibTorch with incompatible shapes.
  const err = await t.throwsAsync(native().runtime.matmul(float32([2, 3]), float32([4, 2]), { device: 'cpu' }));
  t.is((err as Error & { code: string }).code, 'ERR_CLIPS4_NATIVE');
  t.regex(err!.message, /cannot be multiplied|size mismatch|shapes/);
  t.notRegex(err!.message, /Exception raised from|frame #/);
  const viaCall = await t.throwsAsync(call(() => native().runtime.matmul(float32([2, 3]), float32([4, 2]), { device: 'cpu' })));
  t.regex(viaCall!.stack ?? '', /native\.test\.ts/);
});

test('CUDA requested on a CPU-only build is a clear ERR_CLIPS4_NO_CUDA', (t) => {
  if (versions().cuda) {
    t.is(resolveDevice('device', 'cuda'), 'cuda:0');
    return;
  }
  t.is(resolveDevice('device', 'auto'), 'cpu');
  t.throws(() => resolveDevice('device', 'cuda'), {
    code: 'ERR_CLIPS4_NO_CUDA',
    message: /^device 'cuda' was requested but this LibTorch has no usable CUDA device .* Use device 'cpu' or 'auto'/,
  });
  t.throws(() => resolveDevice('device', 'tpu'), { message: "Expected 'cpu', 'cuda', 'cuda:N' or 'auto' for device but received 'tpu'" });
});

test('the event loop keeps turning while a long native computation runs', async (t) => {
  const rt = native().runtime;
  // Size the call from the fastest of three probes so that it lasts about a second: far longer than
  // the 20 event-loop turns asked for below. No time is asserted.
  let perIter = Infinity;
  for (let i = 0; i < 3; i++) perIter = Math.min(perIter, (await rt.sgemm({ n: 1024, iterations: 5, device: 'cpu' })).seconds / 5);
  const call = rt.sgemm({ n: 1024, iterations: Math.ceil(1 / perIter), device: 'cpu' });
  // A call that held the main thread would settle before the first turn was counted.
  const turns = countTurns();
  const r = await call.finally(turns.stop);
  t.true(r.gflops > 0);
  t.true(turns.count >= 20, `the event loop turned ${turns.count} times while the call ran`);
});

test('concurrent calls each get their own result (inputs owned by the call)', async (t) => {
  const pairs = Array.from({ length: 20 }, (_, i) => [randomMatrix(16, 8, i + 10), randomMatrix(8, 4, i + 100)] as const);
  const promises = pairs.map(([a, b]) => matmul(a, b));
  // Overwrite the inputs while the calls are queued: results must not change.
  for (const [a, b] of pairs) {
    a.data.fill(1e6);
    b.data.fill(-1e6);
  }
  const results = await Promise.all(promises);
  for (let i = 0; i < pairs.length; i++) {
    const expect = await matmul(randomMatrix(16, 8, i + 10), randomMatrix(8, 4, i + 100));
    t.deepEqual(Array.from(results[i].data), Array.from(expect.data));
  }
});

test('a package without an addon gives a load error with the fixes', (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"x"}');
  const err = t.throws(() => loadFrom(dir), { code: 'ERR_CLIPS4_LOAD' });
  t.regex(err!.message, /Could not load the clips4 native addon/);
  t.regex(err!.message, /npm run build:native/);
  t.regex(err!.message, /LIBTORCH=\/path\/to\/libtorch/);
  t.regex(err!.message, /apt-get install libtorch-dev/);
});

test('CLIPS4_ADDON names another build: a missing one is a load error that says where the path came from', (t) => {
  const err = t.throws(() => loadFile(path.join(tmpDir(), 'clips4.node')), { code: 'ERR_CLIPS4_LOAD' });
  t.regex(err!.message, /clips4\.node \(from CLIPS4_ADDON\)/);
  t.is(loadFile(addonPath()).binding, native());
});

test.serial('the thread count set on the main thread is the one every worker runs with', async (t) => {
  const before = getThreads();
  t.teardown(() => setThreads(before));
  // Eight calls at once reach every libuv worker (4 by default); each keeps its own OpenMP count.
  for (const n of [1, 2, 1, 3]) {
    setThreads(n);
    t.deepEqual(await Promise.all(Array.from({ length: 8 }, () => native().runtime.workerThreads())), new Array(8).fill(n), `after setThreads(${n})`);
  }
});

test('versions() reports LibTorch and the addon', (t) => {
  const v = versions();
  t.regex(v.torch, /^\d+\.\d+/);
  t.true(fs.existsSync(v.addon));
  t.is(v.node, process.versions.node);
});

test('the binding description is types only, and the loader takes no types back from the wrappers', (t) => {
  const src = path.join(__dirname, '..', 'src');
  const imports = (file: string) => fs.readFileSync(path.join(src, file), 'utf8').split('\n').filter((l) => /^import\b/.test(l));
  const binding = imports('binding.ts');
  t.true(binding.length > 0 && binding.every((l) => l.startsWith('import type ')), binding.join('\n'));
  // native.ts may import only the binding types and leaf modules, never a wrapper that imports it back.
  const loader = imports('native.ts').filter((l) => l.includes("from './"));
  t.deepEqual(loader.map((l) => l.replace(/.*from '\.\/([^']+)'.*/, '$1')).sort(), ['binding', 'blas-core', 'errors', 'paths']);
});
