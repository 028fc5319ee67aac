// The ceiling every other ratio is measured against: in-process float32 SGEMM at 2048².
import { native } from '../../src/native.ts';

export interface BenchResult {
  name: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: string;
  ratio?: number;
}

export async function sgemmGflops(n = 2048, iterations = 10): Promise<number> {
  return (await native().runtime.sgemm({ n, iterations, device: 'cpu' })).gflops;
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const rt = native().runtime;
  const best = Math.max(await sgemmGflops(), await sgemmGflops());
  emit({ name: 'sgemm', metric: 'float32 2048x2048 matmul', value: best, unit: 'GFLOP/s', threads: rt.getNumThreads() } as BenchResult);
}
