// Data-parallel training: rank discovery from torchrun/SLURM variables, batch slicing, and the
// acceptance check that 2 processes (Gloo on 127.0.0.1) with a global batch B end with the same
// parameters as 1 process with batch B.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { native } from '../src/native';
import * as safetensors from '../src/safetensors';
import { distFromEnv, rankSlice } from '../src/train/distributed';
import type { TrainBatch } from '../src/train/native-trainer';
import type { Tensor } from '../src/tensor';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const dir = tmpDir('clips4-dist-');

test('distFromEnv reads torchrun and SLURM variables and names what is missing', (t) => {
  t.is(distFromEnv({}), undefined);
  t.is(distFromEnv({ WORLD_SIZE: '1', RANK: '0' }), undefined);
  t.deepEqual(distFromEnv({ WORLD_SIZE: '4', RANK: '3', LOCAL_RANK: '1', MASTER_ADDR: 'node7', MASTER_PORT: '1234' }), { rank: 3, worldSize: 4, localRank: 1, addr: 'node7', port: 1234 });
  t.deepEqual(distFromEnv({ SLURM_NTASKS: '2', SLURM_PROCID: '1', SLURM_LOCALID: '0', MASTER_ADDR: 'h' }), { rank: 1, worldSize: 2, localRank: 0, addr: 'h', port: 29500 });
  t.throws(() => distFromEnv({ WORLD_SIZE: '2', RANK: '2', MASTER_ADDR: 'h' }), { code: 'ERR_CLIPS4_CONFIG', message: "Expected an integer between 0 and 1 for the environment variable RANK but received '2'" });
  t.throws(() => distFromEnv({ WORLD_SIZE: 'two' }), { message: /WORLD_SIZE/ });
  t.throws(() => distFromEnv({ WORLD_SIZE: '2', MASTER_ADDR: 'h' }), { message: /RANK is not set/ });
  t.throws(() => distFromEnv({ WORLD_SIZE: '2', RANK: '0' }), { message: /MASTER_ADDR is not set/ });
});

test('rankSlice takes both views of a rank\'s images from a view-major batch', (t) => {
  const B = 4;
  const S = 2;
  const t4 = <D extends 'float32' | 'int32' | 'uint8'>(dtype: D, c: number): Tensor<D> => {
    const shape = c ? [2 * B, c, S, S] : [2 * B, S, S];
    const n = shape.reduce((a, b) => a * b, 1);
    const ctor = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array }[dtype];
    const data = new ctor(n);
    for (let i = 0; i < n; i++) data[i] = Math.floor(i / (n / (2 * B))); // row index
    return { dtype, shape, data } as unknown as Tensor<D>;
  };
  const batch: TrainBatch = { images: t4('float32', 3), regions: t4('int32', 0), ignore: t4('uint8', 0), clip: t4('float32', 5) };
  const part = rankSlice(batch, 2, 2);
  // Rows v·B + b for b ∈ {2, 3}: view 1 → rows 2, 3; view 2 → rows 6, 7.
  for (const [name, tensor] of Object.entries(part)) {
    const x = tensor as Tensor;
    t.is(x.shape[0], 4, name);
    const per = x.data.length / 4;
    t.deepEqual([0, 1, 2, 3].map((r) => Number(x.data[r * per])), [2, 3, 6, 7], name);
    t.deepEqual(x.shape.slice(1), (batch[name as keyof TrainBatch] as Tensor).shape.slice(1));
  }
});

function run(args: string[]): Promise<{ code: number | null; err: string }> {
  const p = spawn(process.execPath, ['--import=tsx', path.join(repoRoot, 'scripts/train.ts'), ...args], { cwd: repoRoot, env: { ...process.env, CLIPS4_NUM_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve) => p.on('exit', (code) => resolve({ code, err })));
}

/** The network's parameters and buffers in the run's last checkpoint (float64 in a float64 run). */
async function params(out: string, iteration: number): Promise<Record<string, Tensor>> {
  return safetensors.read(path.join(out, `ckpt-${String(iteration).padStart(7, '0')}`, 'model.safetensors'));
}

function maxDiff(a: Record<string, Tensor>, b: Record<string, Tensor>): number {
  let worst = 0;
  for (const [k, x] of Object.entries(a)) {
    if (x.dtype !== 'float64' && x.dtype !== 'float32') continue;
    const y = b[k].data;
    x.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(Number(v) - Number(y[i])))));
  }
  return worst;
}

// Without c10d in this LibTorch the checks are reported as skipped, with the reason.
const distributed = native().runtime.versions().distributed;
const distTest = distributed
  ? test
  : (((title: string) => test.skip(`${title} (skipped: this LibTorch has no c10d/Gloo)`, (t) => t.pass())) as unknown as typeof test);

distTest.serial('2 processes with global batch B end with the parameters of 1 process with batch B', async (t) => {
  // The small config has BatchNorm in backbone and head, so synchronised statistics are exercised,
  // and all three losses, k-means, the memory bank and unknown prototypes are on. One batch of 4
  // and two half-batches of 2 (batch-norm sums, gradient sums) round differently; in float32 that
  // ~1e-7 decides every max-pool window, k-means assignment or pseudo-label that sits within a
  // rounding of a tie, and the runs then legitimately part (seen: the stem's max-pool after 4-5
  // steps, at 2.6e-4 on an Intel Xeon and 2.0e-5 on an AMD EPYC). So both runs train in float64
  // (train.precision): rounding ~1e-16 leaves no such near-tie in reach. Measured on an AMD EPYC:
  // 5e-14 after 10 steps, 1.5e-12 after 20 (the network amplifies rounding ~30x per 10 steps),
  // against 6.8e-3 after 10 steps of the same runs in float32. The bound 1e-8 leaves that growth
  // room on other CPUs; a real difference (a wrong sum, a missing gradient, a rank's segments left
  // out) is 1e-3 or more, as the half-batch run shows.
  const steps = 20;
  const sets = ['--set', `train.iterations=${steps}`, '--set', `checkpoint.every=${steps}`, '--set', 'train.lr=0.001', '--set', 'train.precision=float64'];
  const config = path.join(repoRoot, 'configs', 'small.json');
  const one = path.join(dir, 'one');
  const two = path.join(dir, 'two');
  const half = path.join(dir, 'half');
  const r1 = await run(['--config', config, '--out', one, ...sets]);
  t.is(r1.code, 0, r1.err);
  const r2 = await run(['--config', config, '--out', two, '--nproc', '2', ...sets]);
  t.is(r2.code, 0, r2.err);
  const a = await params(one, steps);
  const b = await params(two, steps);
  t.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  t.true(Object.values(a).some((x) => x.dtype === 'float64'), 'the checkpoint holds the float64 parameters');
  const d = maxDiff(a, b);
  t.log(`max |Δparameter| between 1 and 2 processes after ${steps} steps (float64): ${d.toExponential(2)}`);
  t.true(d <= 1e-8, `parameters differ by ${d}`);
  // Only rank 0 writes: one metrics line per step.
  t.is(fs.readFileSync(path.join(two, 'metrics.jsonl'), 'utf8').trim().split('\n').length, steps);
  // Sensitivity: a single process with half the batch is a different run.
  const r3 = await run(['--config', config, '--out', half, ...sets, '--set', 'train.batch=2']);
  t.is(r3.code, 0, r3.err);
  const h = maxDiff(a, await params(half, steps));
  t.log(`max |Δparameter| against half the batch: ${h.toExponential(2)}`);
  t.true(h > 1e-3);
});

distTest.serial('a batch that does not split evenly over the processes is refused with the reason', async (t) => {
  const r = await run(['--config', path.join(repoRoot, 'configs', 'small.json'), '--out', path.join(dir, 'odd'), '--nproc', '2', '--set', 'train.batch=3', '--set', 'train.iterations=1']);
  t.not(r.code, 0);
  t.regex(r.err, /train\.batch \(3\) must be a multiple of the number of processes \(2\)/);
});
