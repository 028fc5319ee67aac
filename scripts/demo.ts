// `npm run demo`: the main job on built-in data. Set-up (npm packages, LibTorch, the addon, lib/)
// runs first through `predemo`. Then: generate the synthetic world → pretrain a small CLIP on its
// captions → reproduce the paper's tables in miniature. Artifacts already present are reused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '..');

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage: npm run demo [-- --out runs/demo] [--quick]

Generates the synthetic world (runs/world), pretrains a small CLIP on its captions
(runs/clip/clip.safetensors), then trains and evaluates MaskCLIP+, CLIP-S4 and the loss ablation
with one fold of classes held out (runs/demo/report.md and report.json). Reuses what exists.
  --quick   a much smaller run (about 2 minutes) to check the pipeline
`);
    return 0;
  }
  const quick = args.includes('--quick');
  const outArg = args.indexOf('--out');
  const runs = path.resolve(root, 'runs');
  const out = outArg >= 0 ? path.resolve(args[outArg + 1]) : path.join(runs, quick ? 'demo-quick' : 'demo');
  const c = require('../lib/index.js');
  const { generateWorld } = c;
  const { pretrainClip } = require('../lib/world/pretrain-clip.js');
  const { reproduce, headline } = require('../lib/world/reproduce.js');
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;
  const log = (l: string) => process.stderr.write(`${stamp()} ${l}\n`);
  const doctor = await c.doctor();
  log(`clips4 ${doctor.clips4}, LibTorch ${doctor.torch}, ${doctor.threads} threads, SGEMM ${doctor.sgemmGflops.toFixed(0)} GFLOP/s`);
  for (const w of doctor.warnings) log(`WARNING: ${w}`);

  const worldDir = path.join(runs, quick ? 'world-quick' : 'world');
  log(`1/3 world → ${worldDir}`);
  const w = await generateWorld({ out: worldDir, seed: 0, train: quick ? 600 : 4000, val: quick ? 60 : 500, size: 96, crops: quick ? 5 : 20, onProgress: (d: number, t: number) => d % 1000 < 32 && log(`generating ${d}/${t}`) });
  log(w.reused ? 'world reused' : `world written in ${w.seconds.toFixed(0)} s`);

  const clipFile = path.join(runs, quick ? 'clip-quick' : 'clip', 'clip.safetensors');
  const clipReport = clipFile.replace(/\.safetensors$/, '.report.json');
  log(`2/3 CLIP pretraining → ${clipFile}`);
  if (fs.existsSync(clipFile) && fs.existsSync(clipReport)) log('CLIP reused');
  // A fixed number of steps (capped by time on slow machines) so that the demo's numbers repeat.
  else await pretrainClip({ data: worldDir, out: clipFile, maxSteps: quick ? 100 : 800, minutes: quick ? 2 : 7, evalImages: quick ? 40 : 200, log });
  const cr = JSON.parse(fs.readFileSync(clipReport, 'utf8'));
  log(`CLIP: zero-shot top-1 ${(cr.zeroShotTop1 * 100).toFixed(1)}%, MaskCLIP val mIoU ${(cr.maskclipMiou * 100).toFixed(1)}%`);

  log(`3/3 reproduce → ${out}`);
  const report = await reproduce({ data: worldDir, clip: clipFile, out, iterations: quick ? 40 : 250, trainImages: quick ? 300 : 1500, valImages: quick ? 40 : 200, log });
  process.stdout.write(`\n${headline(report)}\n\nReport: ${path.join(out, 'report.md')} (numbers in report.json, figures beside it); ${((Date.now() - started) / 60000).toFixed(1)} min in all.\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    process.stderr.write(`demo: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
    process.exitCode = 1;
  },
);
