// Main-thread latency while native work runs: the longest gap between 10 ms timer callbacks during a
// ~2 s native computation, and the time 10 synchronous spawns take while two computations are in
// flight (the fork path of test/fork.test.ts), against the same spawns with nothing in flight.
import { spawnSync } from 'node:child_process';
import { native } from '../../src/native.ts';
import type { BenchResult } from './sgemm.ts';

async function maxTimerGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  await work();
  clearInterval(timer);
  return worst;
}

function spawnSeconds(): number {
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) spawnSync('true');
  return (performance.now() - t0) / 1000;
}

/** Milliseconds per call of a tiny native computation (a 16×16 product), one call at a time. */
async function smallCallMs(threads: number): Promise<number> {
  const rt = native().runtime;
  rt.setNumThreads(threads);
  const a = { dtype: 'float32' as const, shape: [16, 16], data: new Float32Array(256).fill(0.5) };
  await rt.matmul(a, a, { device: 'cpu' });
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) await rt.matmul(a, a, { device: 'cpu' });
  return (performance.now() - t0) / 200;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const rt = native().runtime;
  // What every small call pays on top of its work (the evaluation's per-image calls): at the process's
  // thread count, against one thread (where no thread team is involved).
  const threads = rt.getNumThreads();
  const one = await smallCallMs(1);
  const many = await smallCallMs(threads);
  emit({ name: 'latency.smallCall', metric: `ms per tiny native call (16×16 matmul) at ${threads} threads`, value: many, unit: 'ms', baseline: 'the same call at 1 thread', ratio: many / one });
  const per = (await rt.sgemm({ n: 1024, iterations: 5, device: 'cpu' })).seconds / 5;
  const gap = await maxTimerGap(() => rt.sgemm({ n: 1024, iterations: Math.ceil(2 / per), device: 'cpu' }));
  emit({ name: 'latency.eventLoop', metric: 'longest 10 ms timer gap during a ~2 s native call', value: gap, unit: 'ms' });
  const idle = Math.min(spawnSeconds(), spawnSeconds());
  let busy = Infinity;
  for (let r = 0; r < 3; r++) {
    const inFlight = Promise.all([rt.sgemm({ n: 1024, iterations: 20, device: 'cpu' }), rt.sgemm({ n: 1024, iterations: 20, device: 'cpu' })]);
    busy = Math.min(busy, spawnSeconds());
    await inFlight;
  }
  emit({ name: 'latency.spawn', metric: '10 spawnSync calls with 2 native calls in flight', value: busy, unit: 's', baseline: '10 spawnSync calls, nothing in flight', ratio: busy / idle });
}
