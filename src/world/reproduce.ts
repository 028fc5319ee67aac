// `clips4 world reproduce`: the paper's tables in miniature on a generated world, through the code
// users run on real data: every model is trained by `runTraining` from the configs in configs/
// (world-small.json and the ablation configs), and evaluated by the Segmenter with the eval
// commands' code. For each seed and held-out fold: MaskCLIP+, CLIP-S4, the loss ablation, CLIP-S4
// on the teacher's best training-free variant, and CLIP-S4 on the controlled (oracle) teacher; report.json holds every
// run's numbers, report.md the tables as mean ± std and the paper's claims checked in every run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Clip } from '../clip/clip';
import { resizedLabel, worldDataset, type Dataset } from '../data/datasets';
import { DecodedCache } from '../data/decoded-cache';
import { clips4Error, ErrorCodes, outOfRange } from '../errors';
import { languageEvaluate } from '../eval/language';
import { ConfusionMatrix } from '../eval/metrics';
import { KNN_KMEANS, knnDatasets } from '../eval/segments';
import { loadImage } from '../image/load';
import { Segmenter, type SegmenterLoadOptions } from '../infer/segmenter';
import type { Tensor } from '../tensor';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../io/atomic';
import { call, native, packageRoot } from '../native';
import { resolveConfig } from '../train/config';
import type { Config } from '../train/schema';
import { runTraining } from '../train/run';
import { readMetricRows } from '../plot/curves';
import { getThreads, setThreads } from '../runtime';
import { boolean, distinctArray, integer, number, oneOf } from '../validate';
import { datasetOracle } from '../train/teacher';
import { readWorld, type WorldInfo } from './data';
import { writeFigures } from './figures';
import { WORLD_TEMPLATES } from './pretrain-clip';
import { claims, oracleClaims } from './claims';
import { pct, renderReport } from './report';

export interface ReproduceOptions {
  data: string;
  clip: string;
  /** Where report.md, report.json and the figures go. */
  out: string;
  /** Where the trained models go (default <out>/runs): reports of other seed sets can share them. */
  runs?: string;
  seeds?: number[];
  /** Indices into the world's unknown folds. */
  folds?: number[];
  /** 'all': every table; 'oracle': only the controlled-teacher experiment. */
  experiments?: 'all' | 'oracle';
  /**
   * With experiments 'all': also train CLIP-S4 on the teacher's best training-free variant and score
   * that teacher (Table 3's fourth row; default true). One more model per seed and fold, and the variant's
   * teacher features for training and evaluation.
   */
  bestVariant?: boolean;
  /** Oracle corruptions p (one CLIP-S4 run each) and noise σ. */
  corruptions?: number[];
  noise?: number;
  /** `section.key=value` settings applied to every run on top of configs/world-small.json. */
  sets?: string[];
  /** Folder of the configs (default: the package's configs/). */
  configs?: string;
  valImages?: number;
  /**
   * Models trained side by side, one native thread each (default: one per core the process may use,
   * os.availableParallelism(); each run adds ~100 MB to the process).
   */
  parallel?: number;
  /** Training images whose segments form the k-NN bank. */
  knnTrainImages?: number;
  /**
   * Start over the runs whose folder holds a run of another config (default: refuse, naming the
   * folders and the settings that differ, so that no finished model is lost to a changed setting).
   */
  overwrite?: boolean;
  log?: (line: string) => void;
}

export interface ClassFreeScores {
  known: number;
  unknown: number;
  hiou: number;
}

/** One trained model or teacher evaluated on one seed and fold. */
export interface RunResult extends ClassFreeScores {
  seed: number;
  fold: number;
  name: string;
  miou: number;
  /** Mean cosine of the model's and the teacher's segment embeddings over the last 20 steps. */
  avgsim?: number;
  /** The training loss, mean over the first, fifth and last tenth of the run, and its relative change from the ninth to the last tenth (convergence). */
  loss?: { start: number; middle: number; end: number; tailChange: number };
  knn?: number;
}

export interface Report {
  clip: { file: string; zeroShotTop1: number | null; maskclipMiou: number | null };
  seeds: number[];
  /** The held-out folds' indices into the world's unknown folds, and their classes. */
  foldIds: number[];
  folds: string[][];
  /** Every model and teacher, per seed and fold. */
  results: RunResult[];
  claims: Claim[];
  setting: Record<string, unknown>;
}

export interface Claim {
  claim: string;
  holds: boolean;
  evidence: string;
}

interface RunSpec {
  name: string;
  label: string;
  config: string;
  sets: string[];
  /**
   * Trained for every held-out fold (Table 3 and k-NN, whose claims are about known vs unknown
   * classes), or for the first fold only (the loss ablation and the controlled teacher: their claims
   * hold per seed, and a second fold would add ~60% to a multi-seed run's time).
   */
  everyFold: boolean;
}

/** A training-free variant of the teacher's dense features, and CLIP-S4 trained on it (Table 3's fourth row). */
export interface TeacherVariant {
  /** The teacher's result name; CLIP-S4's on it is `clips4-<name>`. */
  name: string;
  label: string;
  /** How the Segmenter computes the variant's features (MaskCLIP mode). */
  load: Pick<SegmenterLoadOptions, 'variant' | 'window' | 'stride'>;
  /** The same features for training (`section.key=value`). */
  sets: string[];
}

/**
 * The best training-free variant of a teacher's dense features, for a CLIP seeing images at shorter
 * side `side` with dense features every `stride` pixels. A ViT: ClearCLIP (its last block's q-q
 * attention without the residual and feed-forward). A ResNet CLIP has no last attention block for
 * ClearCLIP, SCLIP or NACLIP to change; of what was measured on the world's teacher (README Results:
 * MaskCLIP's key smoothing, smoothing by feature self-similarity, the attention pool's own attention,
 * other sides, windows) only MaskCLIP's own sliding windows, overlapping by half, beat whole images:
 * windows a quarter of the side apart (rounded down to the stride) and twice that wide. None where the
 * side is too small for such windows.
 */
export function bestVariant(kind: 'vit' | 'resnet', side: number, stride: number): TeacherVariant | undefined {
  if (kind === 'vit') return { name: 'clearclip', label: 'ClearCLIP', load: { variant: 'clearclip' }, sets: ['clip.variant=clearclip'] };
  const step = Math.floor(side / 4 / stride) * stride;
  if (step === 0) return undefined;
  const window = 2 * step;
  return { name: 'maskclip-windows', label: `MaskCLIP, windows ${window}/${step}`, load: { window, stride: step }, sets: [`clip.window=${window}`, `clip.windowStride=${step}`] };
}

/** The models of the tables: the ablation configs are the files in configs/. */
export function runSpecs(experiments: 'all' | 'oracle', corruptions: number[], noise: number, variant?: TeacherVariant): RunSpec[] {
  const oracle = corruptions.map((p) => ({ name: `oracle-${p}`, label: `CLIP-S4 on the oracle teacher (p ${p})`, config: 'world-small.json', sets: ['clip.teacher=oracle', `clip.oracleCorruption=${p}`, `clip.oracleNoise=${noise}`], everyFold: experiments === 'oracle' }));
  if (experiments === 'oracle') return oracle;
  return [
    { name: 'clips4', label: 'L_t + L_e + L_s', config: 'world-small.json', sets: [], everyFold: true },
    { name: 'maskclip-plus', label: 'MaskCLIP+', config: 'maskclip-plus.json', sets: [], everyFold: true },
    { name: 'lt', label: 'L_t', config: 'ablation-lt.json', sets: [], everyFold: false },
    { name: 'lt-le', label: 'L_t + L_e', config: 'ablation-lt-le.json', sets: [], everyFold: false },
    { name: 'lt-ls', label: 'L_t + L_s', config: 'ablation-lt-ls.json', sets: [], everyFold: false },
    { name: 'le-ls', label: 'L_e + L_s', config: 'ablation-le-ls.json', sets: [], everyFold: false },
    ...(variant ? [{ name: `clips4-${variant.name}`, label: `CLIP-S4 on ${variant.label}`, config: 'world-small.json', sets: variant.sets, everyFold: true }] : []),
    ...oracle,
  ];
}

export async function reproduce(options: ReproduceOptions): Promise<Report> {
  // Absolute paths, so that one dataset and teacher make one config however they were spelled.
  const o = { ...options, data: path.resolve(options.data), clip: path.resolve(options.clip), out: path.resolve(options.out), ...(options.runs ? { runs: path.resolve(options.runs) } : {}) };
  const log = o.log ?? (() => {});
  const parallel = o.parallel === undefined ? os.availableParallelism() : integer('options.parallel', o.parallel, 1);
  const world = readWorld(o.data);
  // Every list is checked here, before anything is written: a repeated seed, fold or corruption
  // would train the same run twice at once, into one folder, and count it twice in the means.
  const seeds = o.seeds === undefined ? [0] : distinctArray('options.seeds', o.seeds, (n, v) => integer(n, v, 0));
  const foldCount = world.unknownFolds.length;
  const checkFold = (n: string, v: unknown) => {
    const f = integer(n, v, 0);
    if (f >= foldCount) throw outOfRange(n, `one of this world's ${foldCount} unknown folds (0 to ${foldCount - 1})`, f);
    return f;
  };
  const foldIds = o.folds === undefined ? [0] : distinctArray('options.folds', o.folds, checkFold);
  const experiments = o.experiments === undefined ? 'all' : oneOf('options.experiments', o.experiments, ['all', 'oracle'] as const);
  const corruptions = o.corruptions === undefined ? [0.2, 0.4] : distinctArray('options.corruptions', o.corruptions, (n, v) => number(n, v, 0, 1));
  const noise = o.noise === undefined ? 0.1 : number('options.noise', o.noise, 0);
  const valImages = o.valImages === undefined ? 200 : integer('options.valImages', o.valImages, 1);
  const knnTrainImages = o.knnTrainImages === undefined ? 300 : integer('options.knnTrainImages', o.knnTrainImages, 1);
  const configs = o.configs ?? path.join(packageRoot, 'configs');
  const folds = foldIds.map((f) => world.unknownFolds[f]);
  const wantVariant = o.bestVariant === undefined ? true : boolean('options.bestVariant', o.bestVariant);
  const clip = await Clip.load(o.clip);
  const val = limit(worldDataset(o.data, 'val'), valImages);
  const knnTrain = limit(worldDataset(o.data, 'train'), knnTrainImages);
  const classes = world.names;
  const runsDir = o.runs ?? path.join(o.out, 'runs');
  const configFor = (spec: RunSpec, seed: number, fold: string[]): Config =>
    resolveConfig(path.join(configs, spec.config), [`data.root=${o.data}`, `data.cache=${path.join(runsDir, 'cache')}`, `clip.weights=${o.clip}`, `train.seed=${seed}`, `prototypes.heldOut=${JSON.stringify(fold)}`, ...spec.sets, ...(o.sets ?? [])]).config;
  // The first run's config (the variant's run is never first): its clip.side sets the variant's windows.
  const base = configFor(runSpecs(experiments, corruptions, noise)[0], seeds[0], folds[0]);
  const side = base.clip.side;
  // The trained models see the world's images at their own size (the world's images are square).
  const segmenterSize = (await loadImage(val.items[0].image)).height;
  const variant = experiments === 'all' && wantVariant ? bestVariant(clip.info.kind, side || segmenterSize, clip.stride) : undefined;
  const specs = runSpecs(experiments, corruptions, noise, variant);
  const results: RunResult[] = [];
  const started = Date.now();

  const jobs = seeds.flatMap((seed) =>
    folds.flatMap((fold, fi) => specs.filter((spec) => fi === 0 || spec.everyFold).map((spec) => ({ seed, fold: foldIds[fi], spec, config: configFor(spec, seed, fold), dir: path.join(runsDir, `seed${seed}-fold${foldIds[fi]}`, spec.name) }))),
  );
  refuseOtherConfigs(jobs, o.overwrite ?? false); // before anything is evaluated or trained
  fs.mkdirSync(o.out, { recursive: true });

  // The teachers: CLIP's dense features (MaskCLIP's and the best variant's), evaluated once (they have no seed).
  const teacherCm = new Map<string, ConfusionMatrix>();
  const teacherKnn = new Map<string, number>();
  const teachers: { name: string; load: TeacherVariant['load'] }[] = experiments === 'all' ? [{ name: 'maskclip', load: {} }, ...(variant ? [variant] : [])] : [];
  for (const teacher of teachers) {
    const load = { clip: o.clip, size: side || segmenterSize, ...teacher.load };
    teacherCm.set(teacher.name, (await languageEvaluate(await Segmenter.load(load), val, { templates: WORLD_TEMPLATES })).cm);
    teacherKnn.set(teacher.name, (await knnDatasets(await oneAtATime(load), knnTrain, val, { ...KNN_KMEANS, k: 20 })).cm.miou());
    log(`reproduce: ${teacher.name} teacher mIoU ${pct(teacherCm.get(teacher.name)!.miou())}, k-NN ${pct(teacherKnn.get(teacher.name)!)}`);
  }

  // Every model first, `parallel` at a time, each on one thread: the world's small networks keep two
  // threads busy poorly, so two runs side by side train ~2x faster than one run on both (measured
  // with the demo's config on 2 cores). Then every evaluation, on all threads.
  await trainAll(jobs, parallel, (job, l) => log(`reproduce: seed ${job.seed} fold ${job.fold} ${job.spec.name}: ${l}`));
  log(`reproduce: ${jobs.length} models trained (${((Date.now() - started) / 60000).toFixed(1)} min)`);
  for (const [fi, fold] of folds.entries()) {
    const unknownIdx = fold.map((n) => classes.indexOf(n));
    for (const seed of seeds) for (const [name, cm] of teacherCm) results.push({ seed, fold: foldIds[fi], name, ...cm.classFree(unknownIdx), miou: cm.miou(), knn: teacherKnn.get(name) });
  }
  let clips4Iou: (number | null)[] | undefined; // the first seed and fold's, for the figure
  for (const { seed, fold: f, spec, config, dir } of jobs) {
    const unknownIdx = folds[foldIds.indexOf(f)].map((n) => classes.indexOf(n));
    const load = { clip: o.clip, model: path.join(dir, 'model.safetensors'), size: segmenterSize };
    const cm = (await languageEvaluate(await Segmenter.load(load), val, { templates: WORLD_TEMPLATES })).cm;
    if (spec.name === 'clips4' && !clips4Iou) clips4Iou = cm.iou();
    const wantKnn = spec.name === 'clips4' || spec.name.startsWith('oracle-');
    const knn = wantKnn ? (await knnDatasets(await oneAtATime(load), knnTrain, val, { ...KNN_KMEANS, k: 20 })).cm.miou() : undefined;
    const r: RunResult = { seed, fold: f, name: spec.name, ...cm.classFree(unknownIdx), miou: cm.miou(), ...trainingCurve(dir), ...(knn === undefined ? {} : { knn }) };
    results.push(r);
    if (spec.name.startsWith('oracle-')) {
      // The oracle teacher's own scores: its features on the val images, classified like CLIP's.
      const own = await oracleScores(config, clip, val, unknownIdx, knnTrain);
      results.push({ seed, fold: f, name: `${spec.name}-teacher`, ...own });
    }
    log(`reproduce: seed ${seed} fold ${f} ${spec.name}: known ${pct(r.known)} unknown ${pct(r.unknown)} hIoU ${pct(r.hiou)}${knn === undefined ? '' : ` k-NN ${pct(knn)}`} (${((Date.now() - started) / 60000).toFixed(1)} min)`);
  }

  const pretrainReport = o.clip.replace(/\.safetensors$/, '') + '.report.json';
  const pre = fs.existsSync(pretrainReport) ? (JSON.parse(fs.readFileSync(pretrainReport, 'utf8')) as { zeroShotTop1: number; maskclipMiou: number }) : undefined;
  const report: Report = {
    clip: { file: o.clip, zeroShotTop1: pre?.zeroShotTop1 ?? null, maskclipMiou: pre?.maskclipMiou ?? null },
    seeds,
    foldIds,
    folds,
    results,
    claims: [],
    setting: { experiments, teacherKind: clip.info.kind, bestVariant: variant ? { name: variant.name, label: variant.label, sets: variant.sets } : null, bestVariantLeftOut: !wantVariant, runs: runsDir, valImages: val.items.length, knnTrainImages: knnTrain.items.length, corruptions, noise, sets: o.sets ?? [], config: base, minutes: (Date.now() - started) / 60000 },
  };
  report.claims = experiments === 'all' ? claims(report) : oracleClaims(report);
  writeJsonAtomicSync(path.join(o.out, 'report.json'), report);
  if (experiments === 'all') {
    const first = (name: string) => path.join(runsDir, `seed${seeds[0]}-fold${foldIds[0]}`, name, 'model.safetensors');
    // The loss curves of the first seed and fold's CLIP-S4 run, beside the report that shows them.
    const curves = path.join(first('clips4'), '..', 'curves.png');
    if (fs.existsSync(curves)) fs.copyFileSync(curves, path.join(o.out, 'curves-clips4.png'));
    await writeFigures(o.out, { world, clipFile: o.clip, side: side || segmenterSize, size: segmenterSize, clips4: first('clips4'), clips4Iou: clips4Iou!, plus: first('maskclip-plus'), val, marked: folds[0], templates: WORLD_TEMPLATES });
  }
  writeFileAtomicSync(path.join(o.out, 'report.md'), renderReport(report, specs.map((s) => ({ name: s.name, label: s.label }))));
  return report;
}

/**
 * Embeds images for the k-NN protocol, which asks for one at a time: nothing to batch, so no request
 * waits for others (maxWaitMs 0; the Segmenter's default 5 ms was ~a third of a 96² image's time).
 */
async function oneAtATime(load: SegmenterLoadOptions): Promise<(image: string) => Promise<Tensor<'float32'>>> {
  const seg = await Segmenter.load({ ...load, maxWaitMs: 0 });
  return (image) => seg.embed(image);
}

interface Job {
  seed: number;
  fold: number;
  spec: RunSpec;
  config: Config;
  dir: string;
}

/** The config a run folder was trained with (its config.json), or undefined where there is none. */
function savedConfig(dir: string): unknown {
  const file = path.join(dir, 'config.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

function sameConfig(dir: string, config: Config): boolean {
  return isDeepStrictEqual(savedConfig(dir), asSaved(config));
}

/** A config as its config.json reads back (undefined-valued keys dropped). */
function asSaved(config: Config): unknown {
  return JSON.parse(JSON.stringify(config));
}

/**
 * Throws, naming the first folder and the settings that differ, when run folders hold runs of
 * another config, unless `overwrite`: no finished model is lost to a changed setting.
 */
function refuseOtherConfigs(jobs: Job[], overwrite: boolean): void {
  if (overwrite) return;
  const others = jobs.map((j) => ({ dir: j.dir, here: asSaved(j.config), there: savedConfig(j.dir) })).filter((j) => j.there !== undefined && !isDeepStrictEqual(j.there, j.here));
  if (!others.length) return;
  const first = others[0];
  throw clips4Error(
    ErrorCodes.state,
    `${others.length} run folder${others.length > 1 ? 's hold runs' : ' holds a run'} of another config, first ${first.dir} (${configDifferences(first.there, first.here).join('; ')}): ` +
      'pass another --out to keep them and train these beside them, or --overwrite to start them over',
  );
}

/**
 * Trains every job through runTraining, `parallel` at a time with one native thread each, reusing
 * the model a finished run with the same config left in its folder and resuming an interrupted one;
 * a folder of another config (left only with `overwrite`, see refuseOtherConfigs) starts over.
 * Runs with the same teacher share its feature cache, so the first of them builds it alone.
 */
async function trainAll(jobs: Job[], parallel: number, log: (job: Job, line: string) => void): Promise<void> {
  const pending = jobs.filter((j) => {
    const done = fs.existsSync(path.join(j.dir, 'model.safetensors')) && sameConfig(j.dir, j.config);
    if (done) log(j, 'reused');
    return !done;
  });
  const teacherOf = (j: Job) => JSON.stringify([j.config.clip, j.config.data, j.config.clip.teacher === 'oracle' ? j.config.train.seed : null]);
  const built = new Set<string>();
  const building = new Set<string>();
  const threads = getThreads();
  // One thread per run whatever `parallel` and however many runs are left: a model trained on more
  // threads would round its sums differently, so a resumed demo whose last run trained alone, or a
  // smaller `parallel`, would give other models than an uninterrupted run.
  if (pending.length) setThreads(1);
  // One cache of decoded images and regions for every run (keyed by what a decoded sample depends on).
  const decoded = new DecodedCache(Math.max(0, ...jobs.map((j) => j.config.data.memoryCache)) * 2 ** 20);
  // A failed run stops every worker (none may wait for a cache that will never be built).
  let failed = false;
  try {
    const worker = async (): Promise<void> => {
      while (!failed) {
        const i = pending.findIndex((j) => built.has(teacherOf(j)) || !building.has(teacherOf(j)));
        if (i < 0) {
          if (!pending.length) return;
          await new Promise((r) => setTimeout(r, 200)); // a teacher cache is being built: wait for it
          continue;
        }
        const [job] = pending.splice(i, 1);
        const key = teacherOf(job);
        const first = !built.has(key);
        if (first) building.add(key);
        // A run of this config resumes from its checkpoint; a folder left by another config (only
        // here with `overwrite`) starts over: its checkpoints, metrics and curves are not this run's.
        const resume = sameConfig(job.dir, job.config);
        if (!resume) fs.rmSync(job.dir, { recursive: true, force: true });
        try {
          await runTraining(job.config, { out: job.dir, resume, log: (l) => log(job, l), decoded });
        } catch (err) {
          failed = true;
          throw err;
        }
        if (first) {
          built.add(key);
          building.delete(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, pending.length)) }, worker));
  } finally {
    setThreads(threads);
  }
}

/** A run's avgsim at the end and its loss over the run (tenths), from its metrics.jsonl. */
export function trainingCurve(dir: string): Pick<RunResult, 'avgsim' | 'loss'> {
  const file = path.join(dir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return {};
  const rows = readMetricRows(file) as { loss: number; avgsim: number }[];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const tenth = (i: number) => mean(rows.slice(Math.floor((i * rows.length) / 10), Math.max(Math.floor((i * rows.length) / 10) + 1, Math.floor(((i + 1) * rows.length) / 10))).map((r) => r.loss));
  const loss = { start: tenth(0), middle: tenth(4), end: tenth(9), tailChange: (tenth(9) - tenth(8)) / tenth(8) };
  return { avgsim: mean(rows.slice(-20).map((r) => r.avgsim)), loss };
}

/** The controlled teacher of a run's config, scored on the val images as a teacher (language, and k-NN with a bank from `knnTrain`). */
export async function oracleScores(config: Config, clip: Clip, val: Dataset, unknownIdx: number[], knnTrain?: Dataset): Promise<Omit<RunResult, 'seed' | 'fold' | 'name'>> {
  const templates = config.prototypes.templates;
  const classes = val.classes!;
  const text = await clip.textClassifier(classes, templates.length ? { templates } : {});
  const teacher = await datasetOracle([val, ...(knnTrain ? [knnTrain] : [])], clip, config.clip, templates, config.train.seed);
  const embed = async (file: string) => teacher.features([await loadImage(file)], [{ file, fit: 'fill' }]);
  const cm = new ConfusionMatrix(classes.length);
  const logitScale = await clip.logitScale();
  for (const item of val.items) {
    const img = await loadImage(item.image);
    const features = await teacher.features([img], [{ file: item.image, fit: 'fill' }]);
    const r = await call(() => native().segment.classify(features, text, { height: img.height, width: img.width, logitScale, denoiseThreshold: 0, scores: false, device: 'cpu', smoothThreshold: 0 }));
    cm.add(new Uint16Array(r.labels.data as Int32Array), await resizedLabel(val, item, img.width, img.height));
  }
  const knn = knnTrain ? (await knnDatasets(embed, knnTrain, val, { ...KNN_KMEANS, k: 20 })).cm.miou() : undefined;
  return { ...cm.classFree(unknownIdx), miou: cm.miou(), ...(knn === undefined ? {} : { knn }) };
}

/** The settings (`section.key: <there> there, <here> here`) where two configs differ, at most 4 named. */
function configDifferences(there: unknown, here: unknown): string[] {
  const flat = (v: unknown, prefix: string, acc: Map<string, string>): Map<string, string> => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) flat(x, prefix ? `${prefix}.${k}` : k, acc);
    else acc.set(prefix, JSON.stringify(v));
    return acc;
  };
  const a = flat(there, '', new Map());
  const b = flat(here, '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  return [...keys.slice(0, 4).map((k) => `${k}: ${a.get(k) ?? 'unset'} there, ${b.get(k) ?? 'unset'} here`), ...(keys.length > 4 ? [`${keys.length - 4} more`] : [])];
}

function limit(ds: Dataset, n: number): Dataset {
  return { ...ds, items: ds.items.slice(0, n) };
}

export type { WorldInfo };
