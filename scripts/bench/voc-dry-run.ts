// The paper's VOC job at VOC's scale, on this machine: `node scripts/train.ts --config
// configs/paper-voc.json` (PSPNet on a dilated ResNet-50, ViT-B/16 teacher, batch 8 of two 336²
// views, 36 segments) on a generated VOC-layout tree of 10,582 images (train_aug's count; sides
// 100–500 px, portrait and landscape), with random weights in the real layouts, for 20 iterations.
// A cold run builds the caches (regions, the teacher's features, the prototypes) and trains; a warm
// run (a new output folder, the same caches) measures the time to the first step without them.
// Reports peak RSS (VmHWM of the training process), time to the first step, seconds per iteration.
//
// Hours on a 2-core CPU, so it is not part of `npm run bench`'s default set: `npm run bench
// voc-dry-run`. Its folder (CLIPS4_BENCH_VOC_DIR, default runs/bench-voc) is kept: an interrupted
// run resumes its caches; the tree and the weights are made once. CLIPS4_BENCH_VOC_IMAGES and
// CLIPS4_BENCH_VOC_ITERATIONS make a smaller run (a check of the bench itself).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Clip } from '../../src/clip/clip.ts';
import { classNames, promptTemplates } from '../../src/clip/templates.ts';
import { WordTokenizer } from '../../src/clip/tokenizer.ts';
import { vocTree } from './data.ts';
import { peakMBOf } from './peak-memory.ts';
import type { BenchResult } from './sgemm.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const IMAGES = Number(process.env.CLIPS4_BENCH_VOC_IMAGES ?? 10_582);
const ITERATIONS = Number(process.env.CLIPS4_BENCH_VOC_ITERATIONS ?? 20);

interface Observed {
  /** Seconds from the process's start to the end of its first training step. */
  firstStep: number;
  /** Seconds from the start to the line that says the caches and prototypes are ready. */
  prepared: number;
  peakMB: number;
  steps: number[];
  resumedCaches: boolean;
}

function directoryBytes(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? directoryBytes(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);
}

/** One `scripts/train.ts` run, watched from outside: its log lines, its metrics file, its peak memory. */
function train(out: string, sets: string[], iterations: number, logFile: string, cacheDir: string): Promise<Observed> {
  fs.rmSync(out, { recursive: true, force: true });
  const resumedCaches = fs.existsSync(cacheDir);
  const args = ['--import=tsx', path.join(root, 'scripts', 'train.ts'), '--config', path.join(root, 'configs', 'paper-voc.json'), '--out', out, ...sets.flatMap((s) => ['--set', s]), '--set', `train.iterations=${iterations}`];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  let prepared = NaN;
  let firstStep = NaN;
  let peak = 0;
  let tail = '';
  // Whole lines (a pipe's chunks may end mid-line), each stamped with the seconds since the start.
  const onLine = (line: string) => {
    const seconds = (performance.now() - t0) / 1000;
    log.write(`[${seconds.toFixed(1)} s] ${line}\n`);
    tail = line;
    if (line.includes('prototypes from ')) prepared = seconds;
  };
  readline.createInterface({ input: child.stdout }).on('line', onLine);
  readline.createInterface({ input: child.stderr }).on('line', onLine);
  const metrics = path.join(out, 'metrics.jsonl');
  const timer = setInterval(() => {
    peak = Math.max(peak, peakMBOf(child.pid!) ?? 0);
    if (Number.isNaN(firstStep) && fs.existsSync(metrics) && fs.statSync(metrics).size > 0) firstStep = (performance.now() - t0) / 1000;
  }, 250);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      clearInterval(timer);
      log.end();
      if (code !== 0) return reject(new Error(`scripts/train.ts exited with ${code}: ${tail} (log: ${logFile})`));
      const steps = fs.readFileSync(metrics, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seconds: number }).seconds);
      resolve({ firstStep, prepared, peakMB: peak, steps, resumedCaches });
    });
  });
}

export async function run(emit: (r: BenchResult) => void): Promise<void> {
  const dir = path.resolve(process.env.CLIPS4_BENCH_VOC_DIR ?? path.join(root, 'runs', 'bench-voc'));
  const voc = path.join(dir, 'VOCdevkit');
  const base = path.join(voc, 'VOC2012');
  const list = path.join(base, 'ImageSets', 'Segmentation', 'train_aug.txt');
  if (!fs.existsSync(list)) {
    fs.rmSync(voc, { recursive: true, force: true });
    await vocTree(voc, IMAGES, 11);
    // The paper preset reads SBD's train_aug split: the same ids, labels under SegmentationClassAug.
    fs.symlinkSync('SegmentationClass', path.join(base, 'SegmentationClassAug'));
    fs.copyFileSync(path.join(base, 'ImageSets', 'Segmentation', 'train.txt'), list);
  }
  // ViT-B/16's sizes with random weights, in the layout `Clip.load` reads (the vocabulary: the
  // prompts' words, which is all the run tokenizes).
  const clipFile = path.join(dir, 'vit-b16-random.safetensors');
  if (!fs.existsSync(clipFile)) {
    const texts = [...classNames('voc20'), ...promptTemplates()];
    await (await Clip.create({ kind: 'vit' }, WordTokenizer.fromTexts(texts), { seed: 1 })).save(clipFile);
  }
  const cache = path.join(dir, 'cache');
  const sets = [`data.root=${voc}`, `data.cache=${cache}`, `clip.weights=${clipFile}`, 'model.backbone='];
  const cold = await train(path.join(dir, 'run-cold'), sets, ITERATIONS, path.join(dir, 'cold.log'), cache);
  const warm = await train(path.join(dir, 'run-warm'), sets, 2, path.join(dir, 'warm.log'), cache);
  const after = cold.steps.slice(1);
  const note = `${IMAGES} VOC-sized images, configs/paper-voc.json, random weights`;
  emit({ name: 'vocDryRun.cold.firstStep', metric: `seconds from start to the first step's end, building every cache (${note}${cold.resumedCaches ? '; not cold: this folder held caches from an earlier run, which were reused' : ''})`, value: cold.firstStep, unit: 's' });
  emit({ name: 'vocDryRun.cold.prepared', metric: 'of which: seconds until the regions, teacher features and prototypes were ready', value: cold.prepared, unit: 's' });
  emit({ name: 'vocDryRun.cold.peakRSS', metric: `peak RSS of the cold run (${ITERATIONS} iterations)`, value: cold.peakMB, unit: 'MB' });
  emit({ name: 'vocDryRun.secondsPerIteration', metric: `mean seconds per training step, steps 2–${ITERATIONS} of the cold run`, value: after.reduce((a, b) => a + b, 0) / after.length, unit: 's/it' });
  emit({ name: 'vocDryRun.cache.size', metric: 'disk taken by the caches (teacher features in float16, region maps, manifest, prototypes)', value: directoryBytes(cache) / 2 ** 30, unit: 'GiB' });
  emit({ name: 'vocDryRun.warm.firstStep', metric: 'seconds from start to the first step\'s end with the caches built (a new output folder)', value: warm.firstStep, unit: 's' });
  emit({ name: 'vocDryRun.warm.prepared', metric: 'of which: seconds until the caches were found and the prototypes read', value: warm.prepared, unit: 's' });
  emit({ name: 'vocDryRun.warm.peakRSS', metric: 'peak RSS of the warm run (2 iterations)', value: warm.peakMB, unit: 'MB' });
}
