// Child process of fork.test.ts: runs the reported reproducer for argv[2] rounds with whatever
// OpenBLAS build the dynamic loader gives it (the test points LD_LIBRARY_PATH at the pthreads build)
// and prints {good, blas} as JSON.
import { native } from '../../src/native';
import { denseAndMatmulRounds } from './fork-rounds';

(async () => {
  const rounds = Number(process.argv[2]);
  const good = await denseAndMatmulRounds(rounds);
  process.stdout.write(JSON.stringify({ good, blas: native().runtime.blasThreading() }));
})().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
