// Native computations in flight while the main thread forks: what a Node server that spawns
// processes (ffmpeg, git, a shell) does while clips4 works. Each round starts the computations,
// spawns `true` ten times synchronously (fork + exec on the main thread, while the computations run
// on pool threads), then checks the results against ones computed with nothing else going on. A
// hang here is a fork deadlock: the caller's timeout (ava's) fails it.
import { spawnSync } from 'node:child_process';
import { Clip, WordTokenizer } from '../../src/index';
import { matmul } from '../../src/ops';
import type { Tensor } from '../../src/tensor';
import { DENSE_TEST_CONFIG, denseTestInput } from './clip-features';

export const SPAWNS_PER_ROUND = 10;

export function spawnMany(): void {
  for (let i = 0; i < SPAWNS_PER_ROUND; i++) {
    const r = spawnSync('true');
    if (r.status !== 0) throw new Error(`spawnSync('true') failed: ${r.error?.message ?? r.status}`);
  }
}

export function sameData(a: Tensor, b: Tensor): boolean {
  return a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);
}

export function squareMatrix(n: number): Tensor<'float32'> {
  return { dtype: 'float32', shape: [n, n], data: new Float32Array(n * n).map((_, i) => Math.sin(i * 0.37)) };
}

/**
 * The reported reproducer: CLIP dense features of a random ViT and a 256² matmul in flight
 * together, then the spawns. Returns the number of rounds whose results matched.
 */
export async function denseAndMatmulRounds(rounds: number): Promise<number> {
  const clip = await Clip.create(DENSE_TEST_CONFIG, new WordTokenizer(['a']), { seed: 7 });
  const x = denseTestInput();
  const a = squareMatrix(256);
  const [denseRef, mmRef] = [await clip.denseFeatures(x), await matmul(a, a)];
  let good = 0;
  for (let r = 0; r < rounds; r++) {
    const inFlight = Promise.all([clip.denseFeatures(x), matmul(a, a)]);
    spawnMany();
    const [dense, mm] = await inFlight;
    if (sameData(dense, denseRef) && sameData(mm, mmRef)) good++;
  }
  return good;
}
