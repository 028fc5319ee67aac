// `npm run demo`: the main job on built-in data. (Set-up runs first through `predemo`.)
// Until the synthetic-world pipeline lands this checks the installation and runs a real forward
// computation through the addon.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write('Usage: npm run demo\n\nSets up the machine (npm packages, LibTorch, the addon) and runs the demo.\n');
    return 0;
  }
  const clips4 = require('../lib/index.js');
  const report = await clips4.doctor();
  process.stdout.write(`clips4 ${report.clips4}, LibTorch ${report.torch}, ${report.threads} threads, SGEMM ${report.sgemmGflops.toFixed(1)} GFLOP/s\n`);
  for (const w of report.warnings) process.stdout.write(`WARNING: ${w}\n`);
  const a = clips4.float32([2, 3], [1, 2, 3, 4, 5, 6]);
  const b = clips4.float32([3, 1], [1, 0, -1]);
  const c = await clips4.matmul(a, b);
  process.stdout.write(`forward pass: [[1,2,3],[4,5,6]]·[1,0,-1] = [${Array.from(c.data as Float32Array).join(', ')}]\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exitCode = 1;
  },
);
